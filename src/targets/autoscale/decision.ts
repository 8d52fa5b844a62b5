/**
 * The autoscaler's rule, as one pure function: what the replicas reported at one poll, and what
 * the previous polls left in memory, in; the replica count wanted, the reason and the new memory
 * out. No clock, no I/O: the loop (autoscaler.ts) supplies both, and the unit tests drive it poll
 * by poll.
 *
 * Utilization of a ready replica is the larger of its concurrency (requests running and queued
 * over max_concurrent_requests_per_instance) and, when the deployment sets resources.cpu, its CPU
 * time over that many cores since the previous poll. Only replicas that are ready and answered
 * count as capacity: one starting is capacity on its way (no further scale-up until it is ready),
 * one restarting or failing is none, and is added to the count wanted instead of replacing it.
 *
 * - Scale up: the mean utilization stays above the target for scale_up_delay; the count becomes
 *   what the load needs at the target (ceil(sum of utilizations / target)), at most max_instances.
 * - Scale down: the ready replicas stay more than the load needs for scale_down_delay; one replica
 *   is removed, and the next only after a fresh window. Never below max(min_instances, 1)...
 * - ...except scale to zero: with min_instances 0, no request arrived for idle_timeout. A replica
 *   still starting counts as activity: it was started for a request (one the gateway may have
 *   answered 503 with Retry-After while it started), so the window begins once it is ready, and
 *   a start slower than idle_timeout is not cancelled before the retry can reach it.
 * - From zero: a request waiting at the gateway wants max(min_instances, 1) at once.
 */
import type { TargetUtilization } from '../../core/specs/scale-settings.js';

/** One replica's reported load (`GET /berth/status` → `load`). */
export interface LoadReading {
  inFlight: number;
  queued: number;
  maxConcurrent: number;
  arrived: number;
  cpuMicros: number;
}

export interface ReplicaReading {
  id: string;
  /** `ready` with a load reading is capacity; `starting` is capacity on its way; `unavailable` is none. */
  state: 'ready' | 'starting' | 'unavailable';
  load: LoadReading | undefined;
}

export interface Observation {
  /** Milliseconds on any monotonic clock. */
  at: number;
  /** Every replica of the deployment that is serving or starting (not those draining). */
  replicas: readonly ReplicaReading[];
  /** Requests wait at the gateway for a replica. */
  waiting: boolean;
  /** resources.cpu of one replica, when set: the denominator of CPU utilization. */
  cpuCores: number | undefined;
}

/** What one poll leaves for the next. */
export interface ScalerMemory {
  aboveSince: number | undefined;
  belowSince: number | undefined;
  lastActivityAt: number;
  /** Per replica: its `arrived` count and CPU time at the previous poll. */
  previous: Readonly<Record<string, { arrived: number; cpuMicros: number; at: number }>>;
}

export interface Decision {
  /** Replicas wanted (serving + starting). */
  desired: number;
  /** Why: a sentence, also when nothing changes. */
  reason: string;
  /** Mean utilization of the ready replicas, percent; undefined with none ready. */
  utilization: number | undefined;
  memory: ScalerMemory;
}

export function initialMemory(at: number): ScalerMemory {
  return { aboveSince: undefined, belowSince: undefined, lastActivityAt: at, previous: {} };
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** One replica's utilization in percent: the larger of concurrency and CPU. */
export function replicaUtilization(
  load: LoadReading,
  previous: { cpuMicros: number; at: number } | undefined,
  at: number,
  cpuCores: number | undefined,
): number {
  const concurrency = ((load.inFlight + load.queued) / Math.max(1, load.maxConcurrent)) * 100;
  if (cpuCores === undefined || previous === undefined || at <= previous.at) return concurrency;
  const used = (load.cpuMicros - previous.cpuMicros) / 1000;
  // A restarted process reports less CPU time than before: no CPU reading this poll.
  if (used < 0) return concurrency;
  return Math.max(concurrency, (used / (at - previous.at) / cpuCores) * 100);
}

export function decide(
  settings: TargetUtilization,
  memory: ScalerMemory,
  observation: Observation,
): Decision {
  const { at, replicas } = observation;
  const target = settings.targetUtilizationPercentage;
  const floor = Math.max(settings.minInstances, 1);
  const total = replicas.length;
  const ready = replicas.filter((replica) => replica.state === 'ready' && replica.load !== undefined);
  const starting = replicas.filter((replica) => replica.state === 'starting').length;
  const unavailable = total - ready.length - starting;

  let active = observation.waiting || starting > 0;
  let sum = 0;
  const previous: Record<string, { arrived: number; cpuMicros: number; at: number }> = {};
  for (const replica of ready) {
    const load = replica.load!;
    const before = memory.previous[replica.id];
    if (load.inFlight + load.queued > 0) active = true;
    if (before === undefined ? load.arrived > 0 : load.arrived !== before.arrived) active = true;
    sum += replicaUtilization(load, before, at, observation.cpuCores);
    previous[replica.id] = { arrived: load.arrived, cpuMicros: load.cpuMicros, at };
  }
  const lastActivityAt = active ? at : memory.lastActivityAt;
  const utilization = ready.length === 0 ? undefined : sum / ready.length;
  const next = (desired: number, reason: string, windows: Partial<ScalerMemory> = {}): Decision => ({
    desired,
    reason,
    utilization,
    memory: {
      aboveSince: undefined,
      belowSince: undefined,
      ...windows,
      lastActivityAt,
      previous,
    },
  });

  if (total === 0) {
    if (observation.waiting) return next(floor, 'a request is waiting and no replica runs: starting one');
    if (settings.minInstances > 0) return next(floor, `below min_instances ${settings.minInstances}`);
    return next(0, 'scaled to zero: the next request starts a replica');
  }
  if (settings.minInstances === 0 && !active && at - lastActivityAt >= settings.idleTimeoutMs) {
    return next(0, `no request for ${seconds(at - lastActivityAt)} (idle_timeout): scaling to zero`);
  }
  if (total < floor) return next(floor, `below min_instances ${settings.minInstances}`);
  if (total > settings.maxInstances)
    return next(settings.maxInstances, `above max_instances ${settings.maxInstances}`);

  const needed = Math.ceil(sum / target);
  const shown = utilization === undefined ? 'no ready replica' : `utilization ${Math.round(utilization)}%`;
  const notCounted = unavailable > 0 ? `; ${unavailable} replica(s) not ready, not counted as capacity` : '';
  if ((utilization ?? 0) > target) {
    const aboveSince = memory.aboveSince ?? at;
    if (starting > 0) {
      return next(total, `${shown} above target ${target}%: waiting for ${starting} starting replica(s)`, {
        aboveSince: at,
      });
    }
    if (at - aboveSince < settings.scaleUpDelayMs) {
      return next(
        total,
        `${shown} above target ${target}% for ${seconds(at - aboveSince)} of ${seconds(settings.scaleUpDelayMs)}`,
        { aboveSince },
      );
    }
    const wanted = Math.min(settings.maxInstances, Math.max(floor, Math.max(needed, 1) + unavailable));
    if (wanted <= total) {
      return next(
        total,
        `${shown} above target ${target}%, but max_instances ${settings.maxInstances} runs${notCounted}`,
        { aboveSince },
      );
    }
    return next(
      wanted,
      `${shown} above target ${target}% for ${seconds(at - aboveSince)}: ${ready.length} ready replica(s), the load needs ${needed}${notCounted}`,
      { aboveSince: at },
    );
  }
  if (needed < ready.length && total > floor) {
    const belowSince = memory.belowSince ?? at;
    if (at - belowSince < settings.scaleDownDelayMs) {
      return next(
        total,
        `${shown}: ${ready.length} ready, the load needs ${needed}, for ${seconds(at - belowSince)} of ${seconds(settings.scaleDownDelayMs)}`,
        { belowSince },
      );
    }
    return next(
      total - 1,
      `${shown}: ${ready.length} ready replica(s) for ${seconds(at - belowSince)} while the load needs ${needed}: removing one`,
      { belowSince: at },
    );
  }
  return next(total, `${shown}, target ${target}%${notCounted}`);
}
