/**
 * One ssh replica: the local target's supervised Replica (probes, restarts with back-off, drain),
 * running the bridge (bridge.ts) instead of a scoring server. The bridge runs the server on the
 * machine and says `listening` on the local end of its port forward, so every probe and request
 * reaches the replica through SSH, and the Replica needs to know nothing of it.
 */
import { fileURLToPath } from 'node:url';
import { Replica, type ReplicaOptions } from '../local/replica.js';
import type { ProbeSettings } from '../target.js';
import { helloVariable } from './bridge-config.js';
import type { SupervisorHello } from './remote-supervisor.js';

/** dist/src/targets/ssh/replica.js → dist/src/targets/ssh/bridge.js */
export const bridgeEntry = fileURLToPath(new URL('./bridge.js', import.meta.url));

export interface SshReplicaOptions {
  id: string;
  /** The secret the replica's server requires of every request but health (BERTH_REPLICA_TOKEN). */
  token: string;
  /** The bridge's config file (ssh arguments only: no secret). */
  bridgeConfig: string;
  /** A local folder the bridge runs in. */
  cwd: string;
  hello: SupervisorHello;
  onLine(stream: 'stdout' | 'stderr', text: string): void;
  readiness: ProbeSettings;
  liveness: ProbeSettings;
  startTimeoutMs: number;
  backoff: { initialMs: number; maxMs: number };
}

export function sshReplica(options: SshReplicaOptions): Replica {
  // `token` rides along for the gateway: the replica status reports it where the Replica supports it.
  const replica: ReplicaOptions & { token: string } = {
    id: options.id,
    host: '127.0.0.1',
    token: options.token,
    process: {
      nodePath: process.execPath,
      entry: bridgeEntry,
      configPath: options.bridgeConfig,
      cwd: options.cwd,
      // The hello (with the token) goes in the bridge's environment, never in an argument.
      env: { ...process.env, [helloVariable]: JSON.stringify(options.hello) },
    },
    onLine: (stream, text) => options.onLine(stream, text),
    readiness: options.readiness,
    liveness: options.liveness,
    startTimeoutMs: options.startTimeoutMs,
    backoff: options.backoff,
    startPollMs: 100,
  };
  return new Replica(replica);
}
