/**
 * The ssh half of one deployment, for the shared replica-set supervisor: each generation's
 * replicas run the shipped scoring server on the machine (the release names where it, the model and
 * the code are there), with the scoring options and environment rewritten for the machine's paths,
 * a fresh replica token each, and their output in the deployment's log ring here.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { LogRing } from '../local/log-ring.js';
import type { Replica } from '../local/replica.js';
import type { ReplicaFactory } from '../shared/replica.js';
import { scoringProcessEnv, scoringProcessFlags } from '../../core/heap-headroom.js';
import { MEMORY_LIMIT_ENV } from '../../scoring/memory-limit.js';
import { replicaStopGraceMs, scoringOptionsFor } from '../shared/scoring-options.js';
import type { LogLine, ResolvedDeployment } from '../target.js';
import type { BridgeConfig } from './bridge-config.js';
import type { ResolvedSshTargetConfig } from './config.js';
import { shellQuote, type SshConnection } from './connection.js';
import { pythonEnvironment } from './python.js';
import { supervisorFile } from './remote-supervisor.js';
import { sshReplica } from './replica.js';

/** What one generation runs, as shipped to the machine: absolute remote folders. */
export interface SshRelease {
  server: string;
  supervisor: string;
  model: string;
  code: string | undefined;
  /** berth's Python worker, shipped for a `.py` scoring script. */
  python: string | undefined;
  /** The cache entries it uses. */
  names: string[];
}

const replicaTokenVariable = 'BERTH_REPLICA_TOKEN';
/** The bridge's back-off between reconnections to the machine. */
const reconnectBackoff = { initialMs: 250, maxMs: 5000 };

export class SshReplicas implements ReplicaFactory<Replica, SshRelease> {
  readonly noun = 'replica';
  readonly preparing = 'shipping the artifacts';
  readonly switchGraceMs: number;
  readonly logs: LogRing;
  /** The deployment's folder on the machine: the replicas' options files and collected data. */
  readonly runDir: string;
  private readonly localDir: string;
  /** The replicas alive at the last record(): one missing from the next has stopped for good. */
  private readonly alive = new Set<string>();
  /** Removals of stopped replicas' files, one after another; remove() waits for them. */
  private forgetting: Promise<void> = Promise.resolve();

  constructor(
    spec: ResolvedDeployment,
    private readonly config: ResolvedSshTargetConfig,
    private readonly connection: SshConnection,
    private readonly workdir: string,
    /** Whether the machine runs replicas in `systemd-run --user` scopes (machine.ts). */
    private readonly userScopes = false,
  ) {
    const base = `${spec.endpointName}.${spec.deploymentName}`;
    this.switchGraceMs = config.switchGraceMs;
    this.logs = new LogRing(config.logRingLines, join(config.logsDir, `${base}.log`));
    this.runDir = `${workdir}/run/${base}`;
    this.localDir = join(config.logsDir, 'bridges', base);
  }

  source(release: SshRelease): string {
    return `${this.connection.where} (${release.names.join(', ')})`;
  }

  create(spec: ResolvedDeployment, generation: number, release: SshRelease, firstIndex = 0): Replica[] {
    mkdirSync(this.localDir, { recursive: true });
    const remote = remoteSpec(spec, release);
    const options = scoringOptionsFor(remote, '127.0.0.1', `${this.runDir}/data`);
    return Array.from({ length: spec.instanceCount }, (_, index) => {
      // A scale-out numbers on from the generation's last replica: a reused id would name (and
      // adopt) the supervisor of a replica already serving.
      const id = `${spec.deploymentName}-${generation}-${firstIndex + index}`;
      const configPath = `${this.runDir}/${id}.json`;
      // The options file's path names the replica in the machine's process list (ps); the
      // supervisor itself reads everything from its stdin.
      const bridge: BridgeConfig = {
        session: this.connection.commandArgs(
          `cd ${shellQuote(this.workdir)} && exec ${shellQuote(this.config.nodePath)} ${shellQuote(`${release.supervisor}/${supervisorFile}`)} ${shellQuote(configPath)}`,
          'none',
        ),
        forward: this.connection.clientArgs('none'),
        host: this.config.host,
        reconnect: reconnectBackoff,
        stopMs: replicaStopGraceMs(spec) + 5000,
      };
      const bridgeConfig = join(this.localDir, `${id}.json`);
      writeFileSync(bridgeConfig, `${JSON.stringify(bridge, null, 2)}\n`);
      // The same replica of the same release gets the same token, from a key kept here: a control
      // plane that restarts can adopt the replica still running on the machine (remote-supervisor.ts).
      const token = createHmac('sha256', tokenKey(this.config.cacheDir))
        .update(`${this.connection.where}\0${configPath}\0${release.names.join(',')}`)
        .digest('base64url');
      return sshReplica({
        id,
        token,
        bridgeConfig,
        cwd: this.localDir,
        hello: {
          node: this.config.nodePath,
          nodeFlags: scoringProcessFlags(remote.resources.memoryBytes),
          entry: `${release.server}/main.js`,
          configPath,
          options,
          cwd: remote.codeDir ?? remote.model.modelDir,
          env: { ...scoringProcessEnv, ...this.environment(remote, release, id, token) },
          graceMs: replicaStopGraceMs(spec),
          liveness: spec.livenessProbe,
          scope: this.userScopes ? scopeLimits(spec) : undefined,
        },
        onLine: (stream, text) => this.logs.push(line(id, stream, text)),
        readiness: spec.readinessProbe,
        liveness: spec.livenessProbe,
        startTimeoutMs: this.config.startTimeoutMs,
        backoff: this.config.restartBackoff,
      });
    });
  }

  drainGraceMs(spec: ResolvedDeployment): number {
    return replicaStopGraceMs(spec);
  }

  abandonGraceMs(spec: ResolvedDeployment): number {
    return replicaStopGraceMs(spec);
  }

  /**
   * A replica stopped for good (scaled in, scaled to zero, an old generation drained) leaves its
   * bridge config here and its options, hello and output files on the machine: they are removed,
   * so a deployment that scales in and out all day does not fill its run folder.
   */
  record(alive: readonly Replica[]): void {
    const now = new Set(alive.map((replica) => replica.id));
    const gone = [...this.alive].filter((id) => !now.has(id));
    this.alive.clear();
    for (const id of now) this.alive.add(id);
    if (gone.length === 0) return;
    for (const id of gone) rmSync(join(this.localDir, `${id}.json`), { force: true });
    const command = forgetReplicas(this.runDir, gone);
    this.forgetting = this.forgetting.then(() =>
      this.connection.run(command, 'removing the files of stopped replicas').then(
        () => undefined,
        // Left for remove(), which deletes the whole run folder.
        () => undefined,
      ),
    );
  }

  async removed(): Promise<void> {
    await this.forgetting;
    await this.logs.close();
    rmSync(this.localDir, { recursive: true, force: true });
    // A supervisor whose bridge could not reach it to stop it (the connection was down) is ended here.
    await this.connection.run(endSupervisors(this.runDir), 'ending the supervisors');
    await this.connection.run(`rm -rf ${shellQuote(this.runDir)}`, 'removing the deployment folder');
  }

  private environment(
    remote: ResolvedDeployment,
    release: SshRelease,
    id: string,
    token: string,
  ): Record<string, string> {
    return {
      AZUREML_MODEL_DIR: remote.model.modelDir,
      BERTH_MODEL_DIR: remote.model.modelDir,
      BERTH_ENDPOINT: remote.endpointName,
      BERTH_DEPLOYMENT: remote.deploymentName,
      BERTH_REPLICA: id,
      ESBUILD_BINARY_PATH: `${release.server}/node_modules/@esbuild/linux-x64/bin/esbuild`,
      ...(release.python === undefined ? {} : pythonEnvironment(this.config, release.python)),
      ...remote.environmentVariables,
      // resources.memory holds the replica's scoring server (its whole process); without it the
      // server takes its own default from the machine's memory and prints it in the replica log.
      ...(remote.resources.memoryBytes === undefined
        ? {}
        : { [MEMORY_LIMIT_ENV]: String(remote.resources.memoryBytes) }),
      // Last, so no deployment variable can replace it.
      [replicaTokenVariable]: token,
    };
  }
}

/**
 * A shell command ending every supervisor recorded in the run folder (`<supervisor> <server> <port>`
 * in each `*.pid`) but those of the replicas named in `keep` (their attach adopts them when they
 * run the same release, and replaces them otherwise): SIGTERM, up to 10 s to drain, then SIGKILL,
 * for the supervisor and its server.
 */
export function endSupervisors(runDir: string, keep: readonly string[] = []): string {
  const dir = shellQuote(runDir);
  const kept = keep.map((id) => `${id}.pid`).filter((name) => /^[\w.-]+$/.test(name));
  const skip = kept.length === 0 ? '' : `case "\${f##*/}" in ${kept.join('|')}) continue;; esac; `;
  return [
    'ended=""; servers=""',
    `for f in ${dir}/*.pid; do [ -f "$f" ] || continue; ${skip}read s v p < "$f"; kill -TERM "$s" 2>/dev/null; ended="$ended $s"; servers="$servers $v"; done`,
    'n=0',
    'while [ $n -lt 50 ]; do left=""; for s in $ended; do kill -0 "$s" 2>/dev/null && left=1; done; [ -z "$left" ] && break; sleep 0.2; n=$((n+1)); done',
    'for s in $ended $servers; do kill -KILL "$s" 2>/dev/null; done',
    'true',
  ].join('; ');
}

/**
 * A shell command removing the files of stopped replicas from the run folder: options, hello, output
 * and exit code. A replica whose pid file is still there has a supervisor that did not end (its
 * stop timed out while the machine was unreachable): its files stay, for remove() to end it by.
 */
export function forgetReplicas(runDir: string, ids: readonly string[]): string {
  const names = ids.map(shellQuote).join(' ');
  return [
    `cd ${shellQuote(runDir)} 2>/dev/null || exit 0`,
    `for r in ${names}; do [ -e "$r.pid" ] || rm -f -- "$r.json" "$r.hello" "$r.log" "$r.err" "$r.exit"; done`,
  ].join('; ');
}

/** The key replica tokens are derived from, made once per cache folder (mode 600). */
function tokenKey(cacheDir: string): Buffer {
  const file = join(cacheDir, 'replica-token.key');
  try {
    return readFileSync(file);
  } catch {
    mkdirSync(cacheDir, { recursive: true });
    try {
      writeFileSync(file, randomBytes(32), { mode: 0o600, flag: 'wx' });
    } catch {
      // Another process made it first: use that one.
    }
    return readFileSync(file);
  }
}

/** The deployment with its model, script and code folders where the release put them. */
function remoteSpec(spec: ResolvedDeployment, release: SshRelease): ResolvedDeployment {
  const { model } = spec;
  const inside = (from: string, path: string, to: string): string =>
    `${to}/${relative(from, path).split('\\').join('/')}`;
  return {
    ...spec,
    model: {
      ...model,
      modelDir: release.model,
      modelFile:
        model.modelFile === undefined ? undefined : inside(model.modelDir, model.modelFile, release.model),
    },
    codeDir: release.code,
    scoringScript:
      spec.scoringScript === undefined || release.code === undefined
        ? undefined
        : inside(codeDirOf(spec) ?? '', spec.scoringScript, release.code),
  };
}

/**
 * The cgroup limits of a replica's `systemd-run --user --scope`, from `resources`: MemoryMax (the
 * scoring server also holds itself to it, below) and CPUQuota (cores × 100%). Undefined when the
 * deployment sets neither.
 */
export function scopeLimits(
  spec: ResolvedDeployment,
): { memoryMaxBytes?: number; cpuQuotaPercent?: number } | undefined {
  const { memoryBytes, cpu } = spec.resources;
  if (memoryBytes === undefined && cpu === undefined) return undefined;
  return {
    ...(memoryBytes === undefined ? {} : { memoryMaxBytes: memoryBytes }),
    ...(cpu === undefined ? {} : { cpuQuotaPercent: Math.max(1, Math.round(cpu * 100)) }),
  };
}

/** The folder shipped as the code: the code folder, else the scoring script's own folder. */
export function codeDirOf(spec: ResolvedDeployment): string | undefined {
  return spec.codeDir ?? (spec.scoringScript === undefined ? undefined : dirname(spec.scoringScript));
}

function line(replica: string, stream: 'stdout' | 'stderr', text: string): LogLine {
  return { replica, time: new Date().toISOString(), stream, text };
}
