/**
 * The ssh target's configuration: validated once with zod (`sshTargetConfigSchema`, one member of
 * the target-config union keyed by `kind`) and resolved into `ResolvedSshTargetConfig` with every
 * default filled in. No password field on purpose: authentication is a key file or the agent.
 */
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { BerthError } from '../../core/errors.js';
import { nameSchema } from '../../core/names.js';
import { replicaProcessFields, validateTargetConfig } from '../shared/config.js';

const ms = z.number().int().nonnegative();

export const sshTargetConfigSchema = z.strictObject({
  kind: z.literal('ssh'),
  /** The target's name in handles and specs. Default 'ssh'. */
  name: nameSchema.default('ssh'),
  /** The machine: a host name or address. Required. */
  host: z.string().min(1),
  /** The remote user. Default: the ssh client's own choice (the local user, or ~/.ssh/config). */
  user: z.string().min(1).optional(),
  /** The sshd port. Default 22. */
  port: z.number().int().min(1).max(65_535).default(22),
  /** A private key file; without one the ssh agent and the client's default keys are tried. */
  identity: z.string().min(1).optional(),
  /** The known_hosts file the host key is checked against. Default ~/.ssh/known_hosts. */
  knownHosts: z.string().min(1).optional(),
  /** The folder on the machine berth works in (relative: under the remote home). Default .berth-remote */
  workdir: z.string().min(1).default('.berth-remote'),
  /** The Node.js binary on the machine. Default `node` (from the remote PATH). */
  nodePath: z.string().min(1).default('node'),
  /** The Python interpreter on the machine, for `.py` scoring scripts. Default /usr/bin/python3 (Debian's). */
  pythonPath: z.string().min(1).default('/usr/bin/python3'),
  /** Where the bundled scoring server is kept here between deploys. Default `<tmp>/berth-ssh`. */
  cacheDir: z.string().min(1).optional(),
  /** How long connecting may take. Default 15000 ms. */
  connectTimeoutMs: ms.positive().default(15_000),
  ...replicaProcessFields,
});

export type SshTargetConfig = z.input<typeof sshTargetConfigSchema>;

export interface ResolvedSshTargetConfig {
  kind: 'ssh';
  name: string;
  host: string;
  user: string | undefined;
  port: number;
  identity: string | undefined;
  knownHosts: string;
  /** As given: the remote shell resolves a relative one under the remote home. */
  workdir: string;
  nodePath: string;
  pythonPath: string;
  cacheDir: string;
  /** Here: replica output logs and the ssh control socket's folder. */
  logsDir: string;
  connectTimeoutMs: number;
  startTimeoutMs: number;
  restartBackoff: { initialMs: number; maxMs: number };
  logRingLines: number;
  switchGraceMs: number;
}

/** `~/x` → the local home; the ssh client does not expand a `~` it is given as an argument. */
function localPath(path: string): string {
  return resolve(path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path);
}

/** What a remote shell may be handed unquoted-safe once single-quoted: no quote or newline. */
const plainRemotePath = /^[^'\n\0]+$/;

export function resolveSshTargetConfig(input: unknown): ResolvedSshTargetConfig {
  const config = validateTargetConfig(sshTargetConfigSchema, input, 'ssh target config');
  if (config.restartBackoff.maxMs < config.restartBackoff.initialMs) {
    throw new BerthError(
      'INVALID_SPEC',
      'ssh target config: restartBackoff.maxMs must be >= restartBackoff.initialMs',
    );
  }
  for (const [field, value] of [
    ['workdir', config.workdir],
    ['nodePath', config.nodePath],
    ['pythonPath', config.pythonPath],
  ] as const) {
    if (!plainRemotePath.test(value)) {
      throw new BerthError('INVALID_SPEC', `ssh target config: ${field} may not hold a quote or a newline`);
    }
  }
  if (config.host.startsWith('-') || (config.user ?? '').startsWith('-')) {
    throw new BerthError('INVALID_SPEC', 'ssh target config: host and user may not start with "-"');
  }
  const cacheDir = localPath(config.cacheDir ?? join(tmpdir(), 'berth-ssh'));
  return {
    kind: 'ssh',
    name: config.name,
    host: config.host,
    user: config.user,
    port: config.port,
    identity: config.identity === undefined ? undefined : localPath(config.identity),
    knownHosts: localPath(config.knownHosts ?? '~/.ssh/known_hosts'),
    workdir: config.workdir.replace(/^~\//, ''),
    nodePath: config.nodePath,
    pythonPath: config.pythonPath,
    cacheDir,
    logsDir: join(cacheDir, 'logs', config.name),
    connectTimeoutMs: config.connectTimeoutMs,
    startTimeoutMs: config.startTimeoutMs,
    restartBackoff: config.restartBackoff,
    logRingLines: config.logRingLines,
    switchGraceMs: config.switchGraceMs,
  };
}
