/**
 * The local target's configuration: validated once with zod (`localTargetConfigSchema`, one member
 * of the target-config union keyed by `kind`) and resolved into `ResolvedLocalTargetConfig` with
 * every default filled in.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { BerthError } from '../../core/errors.js';
import { nameSchema } from '../../core/names.js';
import { replicaProcessFields, validateTargetConfig } from '../shared/config.js';

export const localTargetConfigSchema = z.strictObject({
  kind: z.literal('local'),
  /** The target's name in handles and specs. Default 'local'. */
  name: nameSchema.default('local'),
  /** Where each deployment's replica output is appended (`<endpoint>.<deployment>.log`). Required. */
  logsDir: z.string().min(1),
  /** Where the scoring-server config files and pid files go. Default: `<logsDir>/../run`. */
  runDir: z.string().min(1).optional(),
  /** The scoring server entry. Default: the compiled `src/scoring/main.js` beside this package. */
  scoringEntry: z.string().min(1).optional(),
  /** The Node.js binary replicas run on. Default: the one running berth. */
  nodePath: z.string().min(1).optional(),
  /** Interface replicas listen on. Default 127.0.0.1. */
  host: z.string().min(1).default('127.0.0.1'),
  ...replicaProcessFields,
});

export type LocalTargetConfig = z.input<typeof localTargetConfigSchema>;

export interface ResolvedLocalTargetConfig {
  kind: 'local';
  name: string;
  logsDir: string;
  runDir: string;
  scoringEntry: string;
  nodePath: string;
  host: string;
  startTimeoutMs: number;
  restartBackoff: { initialMs: number; maxMs: number };
  logRingLines: number;
  switchGraceMs: number;
}

/** dist/src/targets/local/config.js → dist/src/scoring/main.js */
const defaultScoringEntry = fileURLToPath(new URL('../../scoring/main.js', import.meta.url));

export function resolveLocalTargetConfig(input: unknown): ResolvedLocalTargetConfig {
  const config = validateTargetConfig(localTargetConfigSchema, input, 'local target config');
  if (config.restartBackoff.maxMs < config.restartBackoff.initialMs) {
    throw new BerthError(
      'INVALID_SPEC',
      'local target config: restartBackoff.maxMs must be >= restartBackoff.initialMs',
    );
  }
  const logsDir = resolve(config.logsDir);
  return {
    kind: 'local',
    name: config.name,
    logsDir,
    runDir: resolve(config.runDir ?? join(dirname(logsDir), 'run')),
    scoringEntry: resolve(config.scoringEntry ?? defaultScoringEntry),
    nodePath: config.nodePath ?? process.execPath,
    host: config.host,
    startTimeoutMs: config.startTimeoutMs,
    restartBackoff: config.restartBackoff,
    logRingLines: config.logRingLines,
    switchGraceMs: config.switchGraceMs,
  };
}
