/**
 * The local target: `createLocalTarget({ kind: 'local', logsDir })` runs each deployment's
 * replicas as child processes of this one. See README.md.
 */
import { resolveLocalTargetConfig, type LocalTargetConfig } from './config.js';
import { LocalTarget } from './target.js';

export { localTargetConfigSchema, resolveLocalTargetConfig } from './config.js';
export type { LocalTargetConfig, ResolvedLocalTargetConfig } from './config.js';
export { LocalTarget } from './target.js';
export type { LocalTargetState } from './target.js';

export function createLocalTarget(config: LocalTargetConfig): LocalTarget {
  return new LocalTarget(resolveLocalTargetConfig(config));
}
