/**
 * One deployment on the local target: the set of replicas serving now, the set draining, the
 * output ring, and the deployment's phase. Phases: creating → running ⇄ updating; creating →
 * failed (a replica could not start: the reason is the server's own error, e.g. the scoring
 * script's init message); any → deleting → removed. Status maps phases and replica health onto
 * Azure's states (Creating, Transitioning, Healthy, Unhealthy, Failed, Deleting).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, toBerthError } from '../../core/errors.js';
import type { DeploymentStatus, LogLine, Progress, ReplicaStatus, ResolvedDeployment } from '../target.js';
import type { ResolvedLocalTargetConfig } from './config.js';
import { LogRing } from './log-ring.js';
import { Replica } from './replica.js';
import { replicaEnvironment, replicaTimeoutGraceMs, scoringOptionsFor } from './scoring-config.js';
import type { PidFile } from './pid-file.js';

export type DeploymentPhase = 'creating' | 'running' | 'updating' | 'failed' | 'deleting' | 'removed';

export class DeploymentSupervisor {
  phase: DeploymentPhase = 'creating';
  failure: string | undefined;
  generation = 0;
  private current: Replica[] = [];
  private readonly draining = new Set<Replica>();
  readonly logs: LogRing;

  constructor(
    readonly id: string,
    private spec: ResolvedDeployment,
    private readonly config: ResolvedLocalTargetConfig,
    private readonly pids: PidFile,
  ) {
    this.logs = new LogRing(
      config.logRingLines,
      join(config.logsDir, `${spec.endpointName}.${spec.deploymentName}.log`),
    );
  }

  get deployment(): ResolvedDeployment {
    return this.spec;
  }

  /** Starts the first replica set; on failure the phase is `failed` and the error rethrown. */
  async deploy(progress: Progress, signal?: AbortSignal): Promise<void> {
    try {
      this.current = await this.startSet(this.spec, progress, signal);
      this.phase = 'running';
      progress(`${this.id}: ${this.current.length} replica(s) ready`);
    } catch (error) {
      const berth = toBerthError(error);
      this.phase = 'failed';
      this.failure = berth.message;
      throw berth;
    }
  }

  /** Rolling: the new set starts and is ready before traffic switches; the old set then drains. */
  async update(spec: ResolvedDeployment, progress: Progress): Promise<void> {
    if (this.phase !== 'running') {
      throw new BerthError(
        'CONFLICT',
        `deployment ${this.id} is ${this.phase}: it can be updated only while running`,
      );
    }
    this.phase = 'updating';
    let next: Replica[];
    try {
      next = await this.startSet(spec, progress, undefined);
    } catch (error) {
      this.phase = 'running';
      const berth = toBerthError(error);
      throw new BerthError(
        berth.code,
        `update of ${this.id} failed, the previous version keeps serving: ${berth.message}`,
        { cause: berth },
      );
    }
    const old = this.current;
    this.current = next;
    this.spec = spec;
    this.phase = 'running';
    progress(`${this.id}: switched to generation ${this.generation}; draining ${old.length} old replica(s)`);
    await this.drain(old);
  }

  async remove(): Promise<void> {
    this.phase = 'deleting';
    const all = this.current;
    this.current = [];
    await this.drain(all);
    await Promise.all([...this.draining].map((replica) => replica.stop()));
    this.phase = 'removed';
    this.pids.write(this.id, []);
    await this.logs.close();
  }

  /** The serving replicas, without I/O: what the gateway balances across. */
  replicas(): ReplicaStatus[] {
    return this.current.map((replica) => replica.status());
  }

  pidList(): number[] {
    return [...this.current, ...this.draining].flatMap((replica) =>
      replica.pid === undefined ? [] : [replica.pid],
    );
  }

  status(): DeploymentStatus {
    const replicas = [...this.current, ...this.draining].map((replica) => replica.status());
    const serving = this.current.map((replica) => replica.status());
    const ready = serving.filter((replica) => replica.state === 'ready').length;
    switch (this.phase) {
      case 'creating':
        return { state: 'Creating', reason: `starting ${this.spec.instanceCount} replica(s)`, replicas };
      case 'updating':
        return {
          state: 'Transitioning',
          reason: `rolling update: starting generation ${this.generation}`,
          replicas,
        };
      case 'failed':
        return { state: 'Failed', reason: this.failure, replicas };
      case 'deleting':
      case 'removed':
        return { state: 'Deleting', reason: undefined, replicas };
      case 'running':
        if (ready >= this.spec.instanceCount) return { state: 'Healthy', reason: undefined, replicas };
        return {
          state: 'Unhealthy',
          reason: `${ready} of ${this.spec.instanceCount} replicas ready: ${serving
            .filter((replica) => replica.state !== 'ready')
            .map(
              (replica) =>
                `${replica.id} ${replica.state}${replica.reason === undefined ? '' : ` (${replica.reason})`}`,
            )
            .join('; ')}`,
          replicas,
        };
    }
  }

  private async startSet(
    spec: ResolvedDeployment,
    progress: Progress,
    signal: AbortSignal | undefined,
  ): Promise<Replica[]> {
    this.generation += 1;
    const generation = this.generation;
    const base = `${spec.endpointName}.${spec.deploymentName}.${generation}`;
    mkdirSync(this.config.runDir, { recursive: true });
    const configPath = join(this.config.runDir, `${base}.json`);
    const dataDir = join(this.config.logsDir, 'data', spec.endpointName, spec.deploymentName);
    writeFileSync(
      configPath,
      `${JSON.stringify(scoringOptionsFor(spec, this.config.host, dataDir), null, 2)}\n`,
    );
    const replicas = Array.from({ length: spec.instanceCount }, (_, index) =>
      this.createReplica(spec, `${spec.deploymentName}-${generation}-${index}`, configPath),
    );
    progress(`${this.id}: starting ${replicas.length} replica(s) of generation ${generation}`);
    const started = replicas.map((replica) => replica.start(signal));
    // Record pids as soon as the processes exist, so a crashed control plane's orphans can be found.
    this.pids.write(this.id, [
      ...this.pidList(),
      ...replicas.flatMap((replica) => (replica.pid === undefined ? [] : [replica.pid])),
    ]);
    const results = await Promise.allSettled(started);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(replicas.map((replica) => replica.stop()));
      this.pids.write(this.id, this.pidList());
      throw toBerthError(failed.reason);
    }
    return replicas;
  }

  private createReplica(spec: ResolvedDeployment, id: string, configPath: string): Replica {
    return new Replica({
      id,
      host: this.config.host,
      process: {
        nodePath: this.config.nodePath,
        entry: this.config.scoringEntry,
        configPath,
        cwd: spec.codeDir ?? spec.model.modelDir,
        env: replicaEnvironment(spec, id),
      },
      onLine: (stream, text) => this.logs.push(line(id, stream, text)),
      readiness: spec.readinessProbe,
      liveness: spec.livenessProbe,
      startTimeoutMs: this.config.startTimeoutMs,
      backoff: this.config.restartBackoff,
      // The server waits requestTimeout (+ its grace) for in-flight requests; give it a margin.
      stopTimeoutMs: spec.requestSettings.requestTimeoutMs + replicaTimeoutGraceMs + 3000,
      startPollMs: 100,
    });
  }

  private async drain(replicas: Replica[]): Promise<void> {
    for (const replica of replicas) {
      this.draining.add(replica);
      replica.beginDrain();
    }
    // Requests routed just before the switch still reach the old replicas before they stop listening.
    if (this.config.switchGraceMs > 0 && replicas.length > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.config.switchGraceMs));
    }
    await Promise.all(replicas.map((replica) => replica.stop()));
    for (const replica of replicas) this.draining.delete(replica);
    this.pids.write(this.id, this.pidList());
  }
}

function line(replica: string, stream: 'stdout' | 'stderr', text: string): LogLine {
  return { replica, time: new Date().toISOString(), stream, text };
}
