/**
 * Target configs: one zod discriminated union keyed by `kind`. Each implemented target brings its
 * own schema from its folder (the cluster's from src/batch/cluster, where its engine lives); the
 * kinds not implemented yet accept a name and any settings, so a workspace can record them before
 * their adapters land.
 */
import { z } from 'zod';
import { BerthError } from '../core/errors.js';
import { nameSchema } from '../core/names.js';
import { clusterTargetConfigSchema } from '../batch/cluster/config.js';
import { containerTargetConfigSchema } from './container/config.js';
import { functionTargetConfigSchema } from './function/config.js';
import { localTargetConfigSchema } from './local/config.js';
import { sshTargetConfigSchema } from './ssh/config.js';

function plannedTarget<K extends string>(kind: K) {
  return z.looseObject({ kind: z.literal(kind), name: nameSchema.default(kind) });
}

export const targetConfigSchema = z.discriminatedUnion('kind', [
  localTargetConfigSchema,
  sshTargetConfigSchema,
  containerTargetConfigSchema,
  plannedTarget('kubernetes'),
  clusterTargetConfigSchema,
  functionTargetConfigSchema,
  plannedTarget('edge'),
]);

export type TargetConfig = z.input<typeof targetConfigSchema>;

export function parseTargetConfig(input: unknown): TargetConfig {
  const parsed = targetConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'kind'}: ${issue.message}`);
    throw new BerthError('INVALID_SPEC', `target config: ${issues.join('; ')}`);
  }
  return parsed.data;
}
