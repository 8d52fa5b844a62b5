/**
 * One supervised replica: a slot that owns its scoring-server process across restarts. It starts
 * the process, waits for the `listening` line and the readiness probe, then keeps probing:
 * readiness failures take it out of rotation (`unhealthy`), liveness failures and exits restart it
 * with exponential back-off (capped), counted in `restarts`.
 *
 * States: starting → ready ⇄ unhealthy; any → starting (restart) or failed (start error, retried
 * with back-off); any → draining → stopped. Only the first start reports its error to the caller
 * (the deployment fails then); later start errors keep the replica `failed` and retrying.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError, toBerthError } from '../../core/errors.js';
import type { ManagedReplica } from '../shared/replica.js';
import type { ProbeSettings, ReplicaStatus } from '../target.js';
import { ReplicaProcess, type ProcessOptions } from './process.js';
import { notReadyWithin, probe } from '../shared/probe.js';
import { readReplicaStatus, ReplacementWatch } from '../shared/replica-events.js';

export type ReplicaState = ReplicaStatus['state'] | 'stopped';

export interface ReplicaOptions {
  id: string;
  host: string;
  /** The replica token (BERTH_REPLICA_TOKEN in its environment), for the gateway and the status probe. */
  token: string;
  process: Omit<ProcessOptions, 'onLine'>;
  onLine(stream: 'stdout' | 'stderr', text: string): void;
  readiness: ProbeSettings;
  liveness: ProbeSettings;
  startTimeoutMs: number;
  backoff: { initialMs: number; maxMs: number };
  /** Until the first ready answer, readiness is polled at least this often. */
  startPollMs: number;
}

/** A replica that stays ready this long has its back-off reset. */
const stableMs = 30_000;

export class Replica implements ManagedReplica {
  state: ReplicaState = 'starting';
  restarts = 0;
  reason: string | undefined;
  url: string | undefined;
  private process: ReplicaProcess | undefined;
  private run: AbortController | undefined;
  private failures = 0;
  private readyAt = 0;
  private stopping: Promise<void> | undefined;
  private readonly replacements = new ReplacementWatch();

  constructor(private readonly options: ReplicaOptions) {}

  get id(): string {
    return this.options.id;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  status(): ReplicaStatus {
    const state = this.state === 'stopped' ? 'draining' : this.state;
    return {
      id: this.id,
      url: this.url,
      state,
      restarts: this.restarts,
      reason: this.reason,
      token: this.options.token,
    };
  }

  /** The first start: resolves once ready, rejects with the server's own error (no restart). */
  async start(signal?: AbortSignal): Promise<void> {
    try {
      await this.launch(signal);
    } catch (error) {
      // launch() killed the process already: there is nothing left to drain.
      await this.stop(0);
      throw error;
    }
  }

  /** Out of rotation before it stops: status shows it draining. */
  beginDrain(): void {
    if (this.state !== 'stopped') this.state = 'draining';
    this.run?.abort();
  }

  /** Drains: SIGTERM (in-flight requests finish), SIGKILL past graceMs. Safe to call twice. */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'draining';
      this.run?.abort();
      const current = this.process;
      if (current?.alive === true) {
        current.signal('SIGTERM');
        const killer = setTimeout(() => current.signal('SIGKILL'), graceMs);
        await current.exited;
        clearTimeout(killer);
      }
      this.state = 'stopped';
    })();
    return this.stopping;
  }

  private async launch(signal?: AbortSignal): Promise<void> {
    const run = new AbortController();
    this.run = run;
    const stop = (): void => run.abort();
    signal?.addEventListener('abort', stop, { once: true });
    const spawnedAt = Date.now();
    const child = new ReplicaProcess({
      ...this.options.process,
      onLine: (stream, text) => this.options.onLine(stream, text),
    });
    this.process = child;
    this.replacements.reset();
    this.state = 'starting';
    this.url = undefined;
    child.exited.then(
      () => this.onExit(child, run),
      () => undefined,
    );
    try {
      const port = await withTimeout(child.listening, this.options.startTimeoutMs, run.signal, this.id);
      this.url = `http://${urlHost(this.options.host)}:${port}`;
      await this.waitReady(spawnedAt, run.signal);
    } catch (error) {
      child.signal('SIGKILL');
      throw toBerthError(error);
    } finally {
      signal?.removeEventListener('abort', stop);
    }
    this.becomeReady();
    this.keepProbing(this.url, spawnedAt, run.signal).catch(() => undefined);
  }

  private becomeReady(): void {
    this.state = 'ready';
    this.reason = undefined;
    this.readyAt = Date.now();
  }

  private async waitReady(spawnedAt: number, signal: AbortSignal): Promise<void> {
    const { readiness } = this.options;
    await sleepUntil(spawnedAt + readiness.initialDelayMs, signal);
    const deadline = spawnedAt + this.options.startTimeoutMs;
    let passed = 0;
    for (;;) {
      const failure = await probe(`${this.url}/v2/health/ready`, readiness.timeoutMs);
      passed = failure === undefined ? passed + 1 : 0;
      if (passed >= readiness.successThreshold) return;
      if (Date.now() > deadline) {
        throw notReadyWithin(this.id, this.options.startTimeoutMs, failure);
      }
      await sleep(Math.min(readiness.periodMs, this.options.startPollMs), undefined, { signal });
    }
  }

  /** The steady-state probes: readiness gates routing, liveness restarts. */
  private async keepProbing(url: string, spawnedAt: number, signal: AbortSignal): Promise<void> {
    const { liveness, readiness } = this.options;
    const live = { failed: 0 };
    const ready = { failed: 0, passed: 0 };
    const loops = [
      (async () => {
        await sleepUntil(spawnedAt + liveness.initialDelayMs, signal);
        for (;;) {
          const failure = await probe(`${url}/`, liveness.timeoutMs);
          if (signal.aborted) return;
          live.failed = failure === undefined ? 0 : live.failed + 1;
          if (failure !== undefined && live.failed >= liveness.failureThreshold) {
            this.reason = `liveness probe failed ${live.failed} times (${failure}): restarting`;
            this.say(this.reason);
            this.process?.signal('SIGKILL');
            return;
          }
          if (failure === undefined) await this.readEvents(url, liveness.timeoutMs, signal);
          await sleep(liveness.periodMs, undefined, { signal });
        }
      })(),
      (async () => {
        for (;;) {
          await sleep(readiness.periodMs, undefined, { signal });
          const failure = await probe(`${url}/v2/health/ready`, readiness.timeoutMs);
          if (signal.aborted) return;
          if (failure === undefined) {
            ready.failed = 0;
            ready.passed += 1;
            if (this.state === 'unhealthy' && ready.passed >= readiness.successThreshold) this.becomeReady();
          } else {
            ready.passed = 0;
            ready.failed += 1;
            if (this.state === 'ready' && ready.failed >= readiness.failureThreshold) {
              this.state = 'unhealthy';
              this.reason = `readiness probe failed ${ready.failed} times (${failure})`;
            }
          }
        }
      })(),
    ];
    await Promise.allSettled(loops);
  }

  /** New worker replacements inside the server become the replica's reason and a log line. */
  private async readEvents(url: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const status = await readReplicaStatus(url, this.options.token, timeoutMs);
    if (status === undefined || signal.aborted) return;
    for (const event of this.replacements.observe(status)) {
      this.reason = event;
      this.say(event);
    }
  }

  /** A line of the supervisor's own in the deployment's logs, beside the replica's output. */
  private say(text: string): void {
    this.options.onLine('stderr', `berth: replica ${this.id}: ${text}`);
  }

  private onExit(child: ReplicaProcess, run: AbortController): void {
    if (this.stopping !== undefined || this.process !== child) return;
    const wasStarted = this.url !== undefined && !run.signal.aborted;
    run.abort();
    if (Date.now() - this.readyAt > stableMs && this.readyAt > 0) this.failures = 0;
    this.failures += 1;
    this.restarts += 1;
    const delay = Math.min(
      this.options.backoff.maxMs,
      this.options.backoff.initialMs * 2 ** (this.failures - 1),
    );
    const byProbe = this.reason?.startsWith('liveness') === true;
    const why = byProbe ? this.reason! : `the process ${child.describeExit()}`;
    this.state = wasStarted || this.state !== 'failed' ? 'starting' : 'failed';
    this.url = undefined;
    this.reason = `${why}; restart ${this.restarts} in ${delay} ms`;
    const said = byProbe ? why : `the process ${child.summarizeExit()}`;
    this.say(`${said}; restart ${this.restarts} in ${delay} ms`);
    this.restartAfter(delay).catch(() => undefined);
  }

  private async restartAfter(delay: number): Promise<void> {
    const wait = new AbortController();
    this.run = wait;
    try {
      await sleep(delay, undefined, { signal: wait.signal });
    } catch {
      return;
    }
    if (this.stopping !== undefined) return;
    try {
      await this.launch();
    } catch (error) {
      if (this.stopping !== undefined) return;
      // A restart that cannot start (e.g. init fails now): stay failed, keep retrying with back-off.
      this.state = 'failed';
      this.reason = toBerthError(error).message;
    }
  }
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

async function sleepUntil(time: number, signal: AbortSignal): Promise<void> {
  const wait = time - Date.now();
  if (wait > 0) await sleep(wait, undefined, { signal });
  signal.throwIfAborted();
}

function withTimeout<T>(promise: Promise<T>, ms: number, signal: AbortSignal, id: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new BerthError('NOT_READY', `replica ${id} did not start listening within ${ms} ms`)),
      ms,
    );
    const onAbort = (): void => reject(new BerthError('SHUTTING_DOWN', `replica ${id}: start cancelled`));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    });
  });
}
