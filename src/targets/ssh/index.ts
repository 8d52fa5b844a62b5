/**
 * The ssh target: `createSshTarget({ kind: 'ssh', host, user, identity, knownHosts })` runs each
 * deployment's replicas on a machine reached over SSH. See README.md.
 */
import { resolveSshTargetConfig, type SshTargetConfig } from './config.js';
import { SshTarget } from './target.js';

export { resolveSshTargetConfig, sshTargetConfigSchema } from './config.js';
export type { ResolvedSshTargetConfig, SshTargetConfig } from './config.js';
export { SshTarget } from './target.js';
export type { MachineReport, SshTargetState } from './target.js';
export type { MachineFacts } from './machine.js';

export function createSshTarget(config: SshTargetConfig): SshTarget {
  return new SshTarget(resolveSshTargetConfig(config));
}
