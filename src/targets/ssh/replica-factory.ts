/**
 * The ssh half of one deployment, for the shared replica-set supervisor: each generation's
 * replicas run the shipped scoring server on the machine (the release names where it, the model and
 * the code are there), with the scoring options and environment rewritten for the machine's paths,
 * a fresh replica token each, and their output in the deployment's log ring here.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { LogRing } from '../local/log-ring.js';
import type { Replica } from '../local/replica.js';
import type { ReplicaFactory } from '../shared/replica.js';
import { MEMORY_LIMIT_ENV } from '../../scoring/memory-limit.js';
import { replicaStopGraceMs, scoringOptionsFor } from '../shared/scoring-options.js';
import type { LogLine, ResolvedDeployment } from '../target.js';
import type { BridgeConfig } from './bridge-config.js';
import type { ResolvedSshTargetConfig } from './config.js';
import { shellQuote, type SshConnection } from './connection.js';
import { supervisorFile } from './remote-supervisor.js';
import { sshReplica } from './replica.js';

/** What one generation runs, as shipped to the machine: absolute remote folders. */
export interface SshRelease {
  server: string;
  supervisor: string;
  model: string;
  code: string | undefined;
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

  constructor(
    spec: ResolvedDeployment,
    private readonly config: ResolvedSshTargetConfig,
    private readonly connection: SshConnection,
    private readonly workdir: string,
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

  create(spec: ResolvedDeployment, generation: number, release: SshRelease): Replica[] {
    mkdirSync(this.localDir, { recursive: true });
    const remote = remoteSpec(spec, release);
    const options = scoringOptionsFor(remote, '127.0.0.1', `${this.runDir}/data`);
    return Array.from({ length: spec.instanceCount }, (_, index) => {
      const id = `${spec.deploymentName}-${generation}-${index}`;
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
      const token = randomBytes(24).toString('base64url');
      return sshReplica({
        id,
        token,
        bridgeConfig,
        cwd: this.localDir,
        hello: {
          node: this.config.nodePath,
          entry: `${release.server}/main.js`,
          configPath,
          options,
          cwd: remote.codeDir ?? remote.model.modelDir,
          env: this.environment(remote, release, id, token),
          graceMs: replicaStopGraceMs(spec),
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

  async removed(): Promise<void> {
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
 * in each `*.pid`): SIGTERM, up to 10 s to drain, then SIGKILL, for the supervisor and its server.
 */
export function endSupervisors(runDir: string): string {
  const dir = shellQuote(runDir);
  const each = (body: string): string =>
    `for f in ${dir}/*.pid; do [ -f "$f" ] || continue; read s v p < "$f"; ${body}; done`;
  return [
    each('kill -TERM "$s" 2>/dev/null'),
    'n=0',
    `while [ $n -lt 50 ] && ls ${dir}/*.pid >/dev/null 2>&1; do sleep 0.2; n=$((n+1)); done`,
    each('kill -KILL "$s" "$v" 2>/dev/null'),
    'true',
  ].join('; ');
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

/** The folder shipped as the code: the code folder, else the scoring script's own folder. */
export function codeDirOf(spec: ResolvedDeployment): string | undefined {
  return spec.codeDir ?? (spec.scoringScript === undefined ? undefined : dirname(spec.scoringScript));
}

function line(replica: string, stream: 'stdout' | 'stderr', text: string): LogLine {
  return { replica, time: new Date().toISOString(), stream, text };
}
