/**
 * Target configs: one zod discriminated union keyed by `kind`. Each implemented target brings its
 * own schema from its folder (the cluster's from src/batch/cluster, where its engine lives).
 */
import { z } from 'zod';
import { BerthError } from '../core/errors.js';
import { clusterTargetConfigSchema } from '../batch/cluster/config.js';
import { containerTargetConfigSchema } from './container/config.js';
import { edgeTargetConfigSchema } from './edge/config.js';
import { functionTargetConfigSchema } from './function/config.js';
import { kubernetesTargetConfigSchema } from './kubernetes/config.js';
import { localTargetConfigSchema } from './local/config.js';
import { sshTargetConfigSchema } from './ssh/config.js';

export const targetConfigSchema = z.discriminatedUnion('kind', [
  localTargetConfigSchema,
  sshTargetConfigSchema,
  containerTargetConfigSchema,
  kubernetesTargetConfigSchema,
  clusterTargetConfigSchema,
  functionTargetConfigSchema,
  edgeTargetConfigSchema,
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
