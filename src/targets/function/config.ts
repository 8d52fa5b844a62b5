/**
 * The function target's configuration: validated once with zod (`functionTargetConfigSchema`, one
 * member of the target-config union keyed by `kind`) and resolved with every default filled in.
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { nameSchema } from '../../core/names.js';
import { validateTargetConfig } from '../shared/config.js';
import { functionKinds, type FunctionKind } from './kinds.js';

const ms = z.number().int().positive();

export const functionTargetConfigSchema = z.strictObject({
  kind: z.literal('function'),
  /** The target's name in handles and specs. Default 'function'. */
  name: nameSchema.default('function'),
  /** The handler shape the local host runs: fetch, aws-lambda or azure-functions. Default fetch. */
  handler: z.enum(functionKinds).default('fetch'),
  /** Packages, the handler bundles and logs go here. Default: `<tmp>/berth-function/<name>`. */
  workDir: z.string().min(1).optional(),
  /** Instances at most per deployment (the platforms' concurrency limit). Default 4. */
  maxInstances: z.number().int().positive().max(64).default(4),
  /** An instance with no invocation for this long is stopped (scale to zero). Default 60000 ms. */
  idleTimeoutMs: ms.default(60_000),
  /** From an instance's spawn to its module loaded. Default 60000 ms. */
  startTimeoutMs: ms.default(60_000),
  /** The Node.js binary instances run on. Default: the one running berth. */
  nodePath: z.string().min(1).optional(),
  /** Lines of instance output kept in memory per deployment. Default 2000. */
  logRingLines: z.number().int().positive().default(2000),
});

export type FunctionTargetConfig = z.input<typeof functionTargetConfigSchema>;

export interface ResolvedFunctionTargetConfig {
  kind: 'function';
  name: string;
  handler: FunctionKind;
  workDir: string;
  maxInstances: number;
  idleTimeoutMs: number;
  startTimeoutMs: number;
  nodePath: string;
  logRingLines: number;
}

export function resolveFunctionTargetConfig(input: unknown): ResolvedFunctionTargetConfig {
  const config = validateTargetConfig(functionTargetConfigSchema, input, 'function target config');
  return {
    kind: 'function',
    name: config.name,
    handler: config.handler,
    workDir: resolve(config.workDir ?? join(tmpdir(), 'berth-function', config.name)),
    maxInstances: config.maxInstances,
    idleTimeoutMs: config.idleTimeoutMs,
    startTimeoutMs: config.startTimeoutMs,
    nodePath: config.nodePath ?? process.execPath,
    logRingLines: config.logRingLines,
  };
}
