/**
 * What the shared replica-set supervisor needs of one replica, and what a target supplies to make
 * them. A replica is whatever runs one copy of the scoring server (a child process, a container;
 * later a process on an ssh host or a pod): it probes and restarts itself, and the supervisor only
 * starts, drains and stops it. Out of scope on purpose: how a replica is reached, logged or
 * restarted, which stay in the target's own folder.
 */
import type { ReplicaStatus, ResolvedDeployment } from '../target.js';

export interface ManagedReplica {
  readonly id: string;
  /** Restarts since the first start (exits, failed liveness probes, engine restarts). */
  readonly restarts: number;
  /**
   * The first start: resolves once the readiness probe passes; rejects with the server's own
   * error (e.g. the scoring script's init message) after cleaning up after itself.
   */
  start(signal?: AbortSignal): Promise<void>;
  /** Takes it out of rotation before it stops: its status shows `draining`. */
  beginDrain(): void;
  /** Stops it; in-flight requests get `graceMs` to finish before it is killed. Safe to call twice. */
  stop(graceMs: number): Promise<void>;
  /** The replica as last observed, without I/O. */
  status(): ReplicaStatus;
}

/**
 * The target-specific half of a deployment: makes each generation's replicas and says how they
 * are named. `V` is what a generation runs that the target prepared beforehand (the container
 * image); `undefined` where there is nothing to prepare.
 */
export interface ReplicaFactory<R extends ManagedReplica, V> {
  /** How progress lines and reasons name a replica: 'replica', 'container'. */
  readonly noun: string;
  /** What happens before the first set starts, for the Creating reason: e.g. 'building the image'. */
  readonly preparing?: string;
  /**
   * `spec.instanceCount` replicas of a generation, not started yet (any files they need are
   * written here), numbered from `firstIndex` (a scale-out adds to a generation: ids stay unique).
   */
  create(spec: ResolvedDeployment, generation: number, version: V, firstIndex: number): R[];
  /** What a generation runs, for its progress line ("… from <image>"). */
  source?(version: V): string;
  /**
   * After a rolling switch, how long old replicas keep listening before they stop, so a request
   * routed just before the switch still lands.
   */
  readonly switchGraceMs: number;
  /** How long a replica leaving a serving set may finish in-flight requests. */
  drainGraceMs(spec: ResolvedDeployment): number;
  /** The same for a set that failed to start: it never served. */
  abandonGraceMs(spec: ResolvedDeployment): number;
  /** Told every replica alive (serving, draining, starting) when that changes: [] once removed. */
  record?(alive: readonly R[]): void;
  /** Called once the last replica stopped on remove(), e.g. to close a log file. */
  removed?(): Promise<void>;
}
