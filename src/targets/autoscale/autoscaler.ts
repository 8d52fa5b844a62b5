/**
 * The loop that applies decide() to one deployment: every polling_interval it reads each serving
 * and starting replica's load, decides, and asks the replica set for the new count (scale-out
 * starts replicas of the serving generation; scale-in takes replicas out of rotation and drains
 * them, so no request in flight is dropped). A request waiting at the gateway with no replica
 * ready wakes it at once (scale from zero) instead of at the next poll.
 *
 * States: running → stopped. stop() ends the loop; the replica set outlives it.
 */
import type { TargetUtilization } from '../../core/specs/scale-settings.js';
import type { ReplicaStatus, ScalingStatus } from '../target.js';
import { decide, initialMemory, type ReplicaReading, type ScalerMemory } from './decision.js';
import { readLoad } from './load.js';

/** What the autoscaler needs of a replica set (targets/shared/replica-set.ts). */
export interface ScalableSet {
  /** Scaling is applied only while running (not while creating, updating or deleting). */
  readonly phase: string;
  /** Serving replicas (ready or not) and replicas being added, as last observed. */
  scalingMembers(): { status: ReplicaStatus; adding: boolean }[];
  /** Ready replicas now. */
  readyCount(): number;
  /** Starts or drains replicas until `count` are serving or starting. */
  scaleTo(count: number): Promise<void>;
}

export type ScaleLog = (message: string) => void;

export class Autoscaler {
  state: 'running' | 'stopped' = 'running';
  private memory: ScalerMemory;
  private timer: NodeJS.Timeout | undefined;
  private waiting = 0;
  private polling: Promise<void> | undefined;
  private desired: number;
  private utilization: number | undefined;
  private lastDecision: ScalingStatus['lastDecision'];
  private lastPoll: string | undefined;
  /** When the last scheduled poll began (performance.now()): polls keep a fixed rate. */
  private lastStart = performance.now();

  constructor(
    private readonly set: ScalableSet,
    private settings: TargetUtilization,
    private cpuCores: number | undefined,
    private readonly log: ScaleLog,
  ) {
    this.memory = initialMemory(performance.now());
    this.desired = set.scalingMembers().length;
    this.schedule();
  }

  /** A rolling update may change the settings; the windows start again. */
  configure(settings: TargetUtilization, cpuCores: number | undefined): void {
    this.settings = settings;
    this.cpuCores = cpuCores;
    this.memory = initialMemory(performance.now());
    this.desired = this.set.scalingMembers().length;
  }

  stop(): void {
    this.state = 'stopped';
    clearTimeout(this.timer);
  }

  status(): ScalingStatus {
    return {
      replicas: this.set.readyCount(),
      desired: this.desired,
      minInstances: this.settings.minInstances,
      maxInstances: this.settings.maxInstances,
      targetUtilizationPercentage: this.settings.targetUtilizationPercentage,
      utilization: this.utilization,
      lastDecision: this.lastDecision,
      lastPoll: this.lastPoll,
    };
  }

  /** Holds a caller until a replica is ready (starting one if none runs), at most `timeoutMs`. */
  async awaitReplica(timeoutMs: number): Promise<boolean> {
    if (this.set.readyCount() > 0) return true;
    if (this.state !== 'running') return false;
    this.waiting += 1;
    const deadline = performance.now() + timeoutMs;
    try {
      void this.poll();
      while (this.set.readyCount() === 0 && this.state === 'running' && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        // A start that failed leaves no replica: the next poll tries again while requests wait.
        if (this.set.scalingMembers().length === 0) void this.poll();
      }
      return this.set.readyCount() > 0;
    } finally {
      this.waiting -= 1;
    }
  }

  /**
   * Polls at a fixed rate, every polling_interval from the start of the previous one (a slow
   * read does not push the next poll back). While utilization is above the target, the poll that
   * can end scale_up_delay comes when the delay ends instead of at the next regular poll: the
   * delay, not the polling grid, decides when replicas are added, so scaling is no more eager.
   */
  private schedule(): void {
    if (this.state !== 'running') return;
    const interval = this.settings.pollingIntervalMs;
    let next = this.lastStart + interval;
    const windowEnd = (this.memory.aboveSince ?? -Infinity) + this.settings.scaleUpDelayMs;
    // Only a window no poll has yet looked past (at max_instances it stays open, and old).
    if (windowEnd > this.lastStart) next = Math.min(next, windowEnd);
    // Never back to back: a poll slower than the interval leaves a tenth of it to the rest.
    const wait = Math.max(interval / 10, next - performance.now());
    this.timer = setTimeout(() => {
      this.lastStart = performance.now();
      void this.poll().finally(() => this.schedule());
    }, wait);
    this.timer.unref();
  }

  /** One poll; a poll asked for while one runs joins it. */
  private poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    if (this.state !== 'running' || this.set.phase !== 'running') return;
    const members = this.set.scalingMembers();
    const timeoutMs = Math.max(500, Math.min(this.settings.pollingIntervalMs, 2000));
    const replicas: ReplicaReading[] = await Promise.all(
      members.map(async ({ status: replica, adding }): Promise<ReplicaReading> => {
        if (adding) return { id: replica.id, state: 'starting', load: undefined };
        if (replica.state !== 'ready' || replica.url === undefined) {
          return { id: replica.id, state: 'unavailable', load: undefined };
        }
        const load = await readLoad(replica.url, replica.token, timeoutMs);
        return { id: replica.id, state: load === undefined ? 'unavailable' : 'ready', load };
      }),
    );
    if (this.state !== 'running' || this.set.phase !== 'running') return;
    const decision = decide(this.settings, this.memory, {
      at: performance.now(),
      replicas,
      waiting: this.waiting > 0,
      cpuCores: this.cpuCores,
    });
    this.memory = decision.memory;
    this.utilization = decision.utilization;
    this.lastPoll = decision.reason;
    const from = members.length;
    this.desired = decision.desired;
    if (decision.desired === from) return;
    this.lastDecision = { at: new Date().toISOString(), from, to: decision.desired, reason: decision.reason };
    this.log(`autoscale: ${from} → ${decision.desired} replica(s): ${decision.reason}`);
    void this.set.scaleTo(decision.desired).catch((error: unknown) => {
      this.log(`autoscale: scaling to ${decision.desired} failed: ${String(error)}`);
    });
  }
}
