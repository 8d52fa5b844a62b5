/**
 * The local half of one deployment, for the shared replica-set supervisor: each generation's
 * replicas are child processes reading one scoring-options file, their output goes to the
 * deployment's log ring, and their pids to the pid file (so a crashed control plane's orphans can
 * be found).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scoringProcessEnv, scoringProcessFlags } from '../../core/heap-headroom.js';
import type { LogLine, ResolvedDeployment } from '../target.js';
import type { ReplicaFactory } from '../shared/replica.js';
import { replicaMemory } from '../shared/replica-limits.js';
import { replicaStopGraceMs, scoringOptionsFor } from '../shared/scoring-options.js';
import type { ResolvedLocalTargetConfig } from './config.js';
import { replicaEnvironment } from './environment.js';
import { LogRing } from './log-ring.js';
import type { PidFile } from './pid-file.js';
import { Replica } from './replica.js';

export class LocalReplicas implements ReplicaFactory<Replica, undefined> {
  readonly noun = 'replica';
  readonly switchGraceMs: number;
  readonly logs: LogRing;

  constructor(
    private readonly id: string,
    spec: ResolvedDeployment,
    private readonly config: ResolvedLocalTargetConfig,
    private readonly pids: PidFile,
  ) {
    this.switchGraceMs = config.switchGraceMs;
    this.logs = new LogRing(
      config.logRingLines,
      join(config.logsDir, `${spec.endpointName}.${spec.deploymentName}.log`),
    );
  }

  create(spec: ResolvedDeployment, generation: number, _version: undefined, firstIndex = 0): Replica[] {
    const base = `${spec.endpointName}.${spec.deploymentName}.${generation}`;
    mkdirSync(this.config.runDir, { recursive: true });
    const configPath = join(this.config.runDir, `${base}.json`);
    const dataDir = join(this.config.logsDir, 'data', spec.endpointName, spec.deploymentName);
    writeFileSync(
      configPath,
      `${JSON.stringify(scoringOptionsFor(spec, this.config.host, dataDir), null, 2)}\n`,
    );
    return Array.from({ length: spec.instanceCount }, (_, index) =>
      this.replica(spec, `${spec.deploymentName}-${generation}-${firstIndex + index}`, configPath),
    );
  }

  drainGraceMs(spec: ResolvedDeployment): number {
    return replicaStopGraceMs(spec);
  }

  abandonGraceMs(spec: ResolvedDeployment): number {
    return replicaStopGraceMs(spec);
  }

  record(alive: readonly Replica[]): void {
    this.pids.write(this.id, pidsOf(alive));
  }

  async removed(): Promise<void> {
    await this.logs.close();
  }

  private replica(spec: ResolvedDeployment, id: string, configPath: string): Replica {
    const token = randomBytes(24).toString('base64url');
    return new Replica({
      id,
      host: this.config.host,
      token,
      process: {
        nodePath: this.config.nodePath,
        nodeFlags: scoringProcessFlags(replicaMemory(spec).bytes),
        entry: this.config.scoringEntry,
        configPath,
        cwd: spec.codeDir ?? spec.model.modelDir,
        env: { ...scoringProcessEnv, ...replicaEnvironment(spec, id, token) },
      },
      onLine: (stream, text) => this.logs.push(line(id, stream, text)),
      readiness: spec.readinessProbe,
      liveness: spec.livenessProbe,
      startTimeoutMs: this.config.startTimeoutMs,
      backoff: this.config.restartBackoff,
      startPollMs: 100,
    });
  }
}

export function pidsOf(replicas: readonly Replica[]): number[] {
  return replicas.flatMap((replica) => (replica.pid === undefined ? [] : [replica.pid]));
}

function line(replica: string, stream: 'stdout' | 'stderr', text: string): LogLine {
  return { replica, time: new Date().toISOString(), stream, text };
}
