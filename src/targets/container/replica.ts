/**
 * One replica on the container target: a container and the probes berth runs against its
 * published port, as the local target does against a child process. The engine restarts a
 * container whose process exits (its restart policy); berth restarts one whose liveness probe
 * fails and takes one out of rotation while its readiness probe fails.
 *
 * States: starting → ready ⇄ unhealthy; ready → starting (restarted); any → draining → stopped.
 * Only the first start reports its error to the caller, with the server's own failure line
 * (e.g. the scoring script's init error) when the container printed one.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { toBerthError } from '../../core/errors.js';
import { notReadyWithin, probe } from '../shared/probe.js';
import { readReplicaStatus, ReplacementWatch } from '../shared/replica-events.js';
import type { ManagedReplica } from '../shared/replica.js';
import type { ProbeSettings, ReplicaStatus, ResolvedDeployment } from '../target.js';
import type { ResolvedContainerTargetConfig } from './config.js';
import {
  assertRunning,
  containerOutput,
  createContainer,
  inspectContainer,
  removeContainer,
  restartContainer,
  startContainer,
  type ReplicaIdentity,
} from './containers.js';
import type { Engine } from './engine.js';

export type ContainerReplicaState = ReplicaStatus['state'] | 'stopped';

const startPollMs = 100;

export class ContainerReplica implements ManagedReplica {
  state: ContainerReplicaState = 'starting';
  reason: string | undefined;
  url: string | undefined;
  containerId: string | undefined;
  private restartedByProbe = 0;
  private engineRestarts = 0;
  private readonly run = new AbortController();
  /** BERTH_REPLICA_TOKEN of the container: the gateway sends it, nobody else knows it. */
  private readonly token = randomBytes(24).toString('base64url');
  private stopping: Promise<void> | undefined;
  private readonly replacements = new ReplacementWatch();
  /** The container's status at the last inspect: running, restarting, exited, … */
  private lastStatus = 'created';

  constructor(
    private readonly engine: Engine,
    private readonly config: ResolvedContainerTargetConfig,
    readonly identity: ReplicaIdentity,
    private readonly image: string,
    private readonly spec: ResolvedDeployment,
  ) {}

  get id(): string {
    return this.identity.replica;
  }

  get restarts(): number {
    return this.restartedByProbe + this.engineRestarts;
  }

  status(): ReplicaStatus {
    const state = this.state === 'stopped' ? 'draining' : this.state;
    return {
      id: this.id,
      url: this.url,
      state,
      restarts: this.restarts,
      reason: this.reason,
      token: this.token,
    };
  }

  /** Creates and starts the container; resolves once it is ready, rejects (and removes it) otherwise. */
  async start(signal?: AbortSignal): Promise<void> {
    const stop = (): void => this.run.abort();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      this.containerId = await createContainer(
        this.engine,
        this.config,
        this.image,
        this.spec,
        this.identity,
        this.token,
      );
      await startContainer(this.engine, this.config.dockerHost, this.containerId);
      await this.waitReady(this.containerId, this.spec.readinessProbe, Date.now());
    } catch (error) {
      await this.stop(0);
      throw toBerthError(error);
    } finally {
      signal?.removeEventListener('abort', stop);
    }
    this.state = 'ready';
    this.reason = undefined;
    this.keepProbing(this.containerId, this.spec).catch(() => undefined);
  }

  /** Out of rotation before it stops: status shows it draining. */
  beginDrain(): void {
    if (this.state !== 'stopped') this.state = 'draining';
    this.run.abort();
  }

  /** Stops the container (SIGTERM, SIGKILL after `graceMs`) and removes it. Safe to call twice. */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= (async () => {
      this.beginDrain();
      if (this.containerId !== undefined) {
        // The engine counts the grace in whole seconds.
        const graceSeconds = Math.ceil(graceMs / 1000);
        await removeContainer(this.engine, this.config.dockerHost, this.containerId, graceSeconds);
      }
      this.state = 'stopped';
    })();
    return this.stopping;
  }

  /** New worker replacements inside the server become the replica's reason. */
  private async readEvents(url: string, timeoutMs: number): Promise<void> {
    const status = await readReplicaStatus(url, this.token, timeoutMs);
    if (status === undefined) return;
    for (const event of this.replacements.observe(status)) this.reason = event;
  }

  /**
   * A container that stopped and that the engine will not restart (killed from outside, or past
   * its restart policy's tries) is started again, after the probe period that found it down.
   */
  private async startStopped(id: string): Promise<void> {
    if (this.lastStatus !== 'exited' && this.lastStatus !== 'dead' && this.lastStatus !== 'created') return;
    const why = this.reason ?? `container ${this.lastStatus}`;
    this.restartedByProbe += 1;
    this.replacements.reset();
    this.reason = `${why}: started again (restart ${this.restarts})`;
    await startContainer(this.engine, this.config.dockerHost, id).catch((error: unknown) => {
      this.reason = `${why}: cannot start it again: ${toBerthError(error).message}`;
    });
  }

  private async refreshUrl(id: string): Promise<boolean> {
    const state = await inspectContainer(this.engine, this.config.dockerHost, id);
    this.lastStatus = state.status;
    if (state.restartCount > this.engineRestarts && this.state !== 'draining') {
      // Its process ended and the engine started it again: a new process, booting.
      this.state = 'starting';
      this.reason = `the engine restarted the container (its process exited with code ${state.exitCode})`;
      this.replacements.reset();
    }
    this.engineRestarts = state.restartCount;
    this.url =
      state.hostPort === undefined || !state.running
        ? undefined
        : `http://${urlHost(this.config.replicaHost)}:${state.hostPort}`;
    if (state.status !== 'running') this.reason = `container ${state.status} (exit code ${state.exitCode})`;
    return state.status === 'running';
  }

  private async waitReady(id: string, readiness: ProbeSettings, startedAt: number): Promise<void> {
    const deadline = startedAt + this.config.startTimeoutMs;
    let passed = 0;
    let failure: string | undefined = 'no answer yet';
    for (;;) {
      this.run.signal.throwIfAborted();
      const state = await inspectContainer(this.engine, this.config.dockerHost, id);
      if (state.status !== 'running' || state.restartCount > this.engineRestarts) {
        assertRunning(
          { ...state, restartCount: state.restartCount - this.engineRestarts },
          this.id,
          await containerOutput(this.engine, id, 40),
        );
      }
      if (state.hostPort !== undefined) {
        this.url = `http://${urlHost(this.config.replicaHost)}:${state.hostPort}`;
        failure = await probe(`${this.url}/v2/health/ready`, readiness.timeoutMs);
        passed = failure === undefined ? passed + 1 : 0;
        if (passed >= readiness.successThreshold) return;
      }
      if (Date.now() > deadline) {
        throw notReadyWithin(this.id, this.config.startTimeoutMs, failure);
      }
      await sleep(Math.min(readiness.periodMs, startPollMs), undefined, { signal: this.run.signal });
    }
  }

  /** Readiness gates routing; liveness failures restart the container through the engine. */
  private async keepProbing(id: string, spec: ResolvedDeployment): Promise<void> {
    const { livenessProbe: liveness, readinessProbe: readiness } = spec;
    const signal = this.run.signal;
    let liveFailed = 0;
    let readyFailed = 0;
    let readyPassed = 0;
    let nextLiveness = Date.now() + liveness.initialDelayMs;
    for (;;) {
      await sleep(Math.min(readiness.periodMs, liveness.periodMs), undefined, { signal });
      const url = this.url;
      const failure =
        url === undefined ? 'no published port' : await probe(`${url}/v2/health/ready`, readiness.timeoutMs);
      if (signal.aborted) return;
      if (failure === undefined) {
        readyFailed = 0;
        readyPassed += 1;
        if (this.state !== 'ready' && readyPassed >= readiness.successThreshold) {
          // Back from a restart, it keeps what happened (the engine's logs do not say it).
          const restarted = this.state === 'starting' && this.reason !== undefined;
          this.state = 'ready';
          this.reason = restarted
            ? `ready again after: ${this.reason!.replace(/^ready again after: /, '')}`
            : undefined;
        }
      } else {
        readyPassed = 0;
        readyFailed += 1;
        // An engine that does not answer says nothing about the container: its state stays.
        const running = await this.refreshUrl(id).catch(() => undefined);
        if (signal.aborted) return;
        if (running === false) {
          this.state = 'starting';
          await this.startStopped(id);
        } else if (readyFailed >= readiness.failureThreshold && this.state === 'ready') {
          this.state = 'unhealthy';
          this.reason = `readiness probe failed ${readyFailed} times (${failure})`;
        }
      }
      // Liveness counts once a (re)started container was ready: while it boots, its published port
      // may reset connections, and restarting it then would only start the boot again.
      if (Date.now() < nextLiveness || this.url === undefined || this.state === 'starting') continue;
      nextLiveness = Date.now() + liveness.periodMs;
      const dead = await probe(`${this.url}/`, liveness.timeoutMs);
      if (signal.aborted) return;
      liveFailed = dead === undefined ? 0 : liveFailed + 1;
      if (dead === undefined) await this.readEvents(this.url, liveness.timeoutMs);
      if (dead !== undefined && liveFailed >= liveness.failureThreshold) {
        this.state = 'starting';
        this.reason = `liveness probe failed ${liveFailed} times (${dead}): restarting`;
        this.restartedByProbe += 1;
        liveFailed = 0;
        this.replacements.reset();
        await restartContainer(this.engine, this.config.dockerHost, id).catch(() => undefined);
        await this.refreshUrl(id).catch(() => false);
        nextLiveness = Date.now() + liveness.initialDelayMs;
      }
    }
  }
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
