/**
 * One deployment on a target that runs N replicas of the scoring server behind the gateway: the
 * set serving now, the replicas draining, and the deployment's phase. What a replica is comes from
 * the target's ReplicaFactory; this class owns the order of things, so every target starts, rolls,
 * fails and reports the same way.
 *
 * Phases: creating → running ⇄ updating; creating → failed (a replica could not start, or the
 * target could not prepare one, e.g. the image build: the reason is that error's message);
 * any → deleting → removed. Status: see status.ts.
 *
 * While running, scaleTo() adds replicas of the serving generation or drains some (the
 * autoscaler's lever: targets/autoscale/); `desired` is what it last asked for.
 */
import { BerthError, toBerthError } from '../../core/errors.js';
import type { TargetUtilization } from '../../core/specs/scale-settings.js';
import type { DeploymentStatus, Progress, ReplicaStatus, ResolvedDeployment } from '../target.js';
import type { ManagedReplica, ReplicaFactory } from './replica.js';
import { startParallelism } from './replica-limits.js';
import { deploymentStatus, type DeploymentPhase } from './status.js';

export class ReplicaSet<R extends ManagedReplica, V, F extends ReplicaFactory<R, V> = ReplicaFactory<R, V>> {
  phase: DeploymentPhase = 'creating';
  failure: string | undefined;
  generation = 0;
  /** What the serving set runs (the factory's `V`); undefined until the first set is ready. */
  version: V | undefined;
  private current: R[] = [];
  private readonly draining = new Set<R>();
  /** Replicas of a generation still starting: remove() stops them too. */
  private readonly starting = new Set<R>();
  /** Aborted by remove(): a generation still starting starts no further replica. */
  private readonly removing = new AbortController();
  /** Replicas scaleTo() is adding to the serving generation, until ready. */
  private readonly adding = new Set<R>();
  /** The next replica index in the serving generation (replica ids stay unique). */
  private nextIndex = 0;
  /** Replicas wanted: instance_count, or the autoscaler's last count. */
  desired: number;

  /**
   * @param scaling the deployment's target_utilization settings when the target autoscales it:
   *   each generation then starts with the replicas running now, within [max(min, 1), max].
   */
  constructor(
    readonly id: string,
    private spec: ResolvedDeployment,
    readonly factory: F,
    private scaling: TargetUtilization | undefined = undefined,
  ) {
    this.desired = this.startCount(spec, scaling, spec.instanceCount);
  }

  get deployment(): ResolvedDeployment {
    return this.spec;
  }

  /** Starts the first set; on failure the phase is `failed` and the error rethrown. */
  async deploy(version: V, progress: Progress, signal?: AbortSignal): Promise<void> {
    try {
      this.current = await this.startSet(
        { ...this.spec, instanceCount: this.desired },
        version,
        progress,
        signal,
      );
      this.version = version;
      this.phase = 'running';
      progress(`${this.id}: ${this.current.length} ${this.factory.noun}(s) ready`);
    } catch (error) {
      this.fail(error);
      throw toBerthError(error);
    }
  }

  /** Records a failure, including one before any replica started (e.g. the image build). */
  fail(error: unknown): void {
    // A start cut short by remove() is no failure: the deployment is going away.
    if (this.phase === 'deleting' || this.phase === 'removed') return;
    this.phase = 'failed';
    this.failure = toBerthError(error).message;
  }

  /** Rolling: the new set starts and is ready before traffic switches; the old set then drains. */
  async update(
    spec: ResolvedDeployment,
    version: V,
    progress: Progress,
    scaling: TargetUtilization | undefined = undefined,
  ): Promise<void> {
    if (this.phase !== 'running') {
      throw new BerthError(
        'CONFLICT',
        `deployment ${this.id} is ${this.phase}: it can be updated only while running`,
      );
    }
    this.phase = 'updating';
    const count = this.startCount(spec, scaling, this.current.length);
    let next: R[];
    try {
      next = await this.startSet({ ...spec, instanceCount: count }, version, progress, undefined);
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
    // The old replicas run the old spec: they drain within its request timeout.
    const grace = this.factory.drainGraceMs(this.spec);
    this.current = next;
    this.spec = spec;
    this.scaling = scaling;
    this.desired = count;
    this.version = version;
    this.phase = 'running';
    progress(
      `${this.id}: switched to generation ${this.generation}; draining ${old.length} old ${this.factory.noun}(s)`,
    );
    await this.drain(old, grace);
  }

  async remove(): Promise<void> {
    this.phase = 'deleting';
    this.removing.abort();
    const starting = [...this.starting];
    const all = this.current;
    this.current = [];
    const grace = this.factory.drainGraceMs(this.spec);
    await Promise.all([this.drain(all, grace), ...starting.map((replica) => replica.stop(0))]);
    // Replicas an update is still draining: stop() is idempotent, so this waits for them.
    await Promise.all([...this.draining].map((replica) => replica.stop(grace)));
    this.phase = 'removed';
    this.factory.record?.([]);
    await this.factory.removed?.();
  }

  /** The serving replicas, without I/O: what the gateway balances across. */
  replicas(): ReplicaStatus[] {
    return this.current.map((replica) => replica.status());
  }

  /** Every replica still alive: serving, starting, then draining. */
  members(): R[] {
    return [...new Set([...this.current, ...this.starting, ...this.draining])];
  }

  /**
   * Serving replicas and those scaleTo() is adding, for the autoscaler: a serving replica that is
   * restarting is no capacity, one being added is capacity on its way.
   */
  scalingMembers(): { status: ReplicaStatus; adding: boolean }[] {
    return [
      ...this.current.map((replica) => ({ status: replica.status(), adding: false })),
      ...[...this.adding].map((replica) => ({ status: replica.status(), adding: true })),
    ];
  }

  readyCount(): number {
    return this.current.filter((replica) => replica.status().state === 'ready').length;
  }

  /**
   * Adds replicas of the serving generation, or drains serving ones (those not ready first, then
   * the newest), until `count` are serving or being added. The counts change before this awaits
   * anything, so a caller that does not wait sees them at once. A replica that fails to start is
   * stopped and reported in its rejection; the deployment keeps serving.
   */
  async scaleTo(count: number): Promise<void> {
    if (this.phase !== 'running') return;
    this.desired = count;
    const alive = this.current.length + this.adding.size;
    // Running means a set started: `version` is what it runs (undefined where nothing is prepared).
    if (count > alive) await this.add(count - alive, this.version as V);
    else if (count < alive) await this.shrink(alive - count);
  }

  private async add(count: number, version: V): Promise<void> {
    const generation = this.generation;
    const replicas = this.factory.create(
      { ...this.spec, instanceCount: count },
      generation,
      version,
      this.nextIndex,
    );
    this.nextIndex += replicas.length;
    for (const replica of replicas) this.adding.add(replica);
    const failures: unknown[] = [];
    await Promise.all(
      replicas.map(async (replica) => {
        this.starting.add(replica);
        try {
          const started = replica.start(this.removing.signal);
          this.factory.record?.(this.members());
          await started;
          // An update or a remove since: this replica belongs to no serving set.
          if (this.phase === 'running' && this.generation === generation && this.adding.has(replica)) {
            this.current.push(replica);
          } else {
            await replica.stop(0);
          }
        } catch (error) {
          failures.push(error);
          await replica.stop(this.factory.abandonGraceMs(this.spec));
        } finally {
          this.adding.delete(replica);
          this.starting.delete(replica);
          this.factory.record?.(this.members());
        }
      }),
    );
    if (failures.length > 0) throw toBerthError(failures[0]);
  }

  private async shrink(count: number): Promise<void> {
    // Replicas still starting are cancelled first: they serve nothing yet.
    const cancelled = [...this.adding].slice(-count);
    for (const replica of cancelled) this.adding.delete(replica);
    const rest = count - cancelled.length;
    const order = [...this.current].sort(
      (a, b) => Number(a.status().state === 'ready') - Number(b.status().state === 'ready'),
    );
    const victims =
      rest <= 0
        ? []
        : [
            ...order.filter((r) => r.status().state !== 'ready'),
            ...order.filter((r) => r.status().state === 'ready').reverse(),
          ].slice(0, rest);
    this.current = this.current.filter((replica) => !victims.includes(replica));
    await Promise.all([
      ...cancelled.map((replica) => replica.stop(0)),
      this.drain(victims, this.factory.drainGraceMs(this.spec)),
    ]);
  }

  /** How many replicas a generation starts with. */
  private startCount(
    spec: ResolvedDeployment,
    scaling: TargetUtilization | undefined,
    running: number,
  ): number {
    if (scaling === undefined) return spec.instanceCount;
    return Math.min(scaling.maxInstances, Math.max(running, scaling.minInstances, 1));
  }

  status(): DeploymentStatus {
    return deploymentStatus({
      phase: this.phase,
      failure: this.failure,
      generation: this.generation,
      // Replicas an autoscaler is still adding do not make the deployment Unhealthy.
      instanceCount:
        this.scaling === undefined ? this.spec.instanceCount : Math.min(this.desired, this.current.length),
      creating: `${this.factory.preparing === undefined ? '' : `${this.factory.preparing} and `}starting ${this.spec.instanceCount} ${this.factory.noun}(s)`,
      serving: this.replicas(),
      all: [...this.current, ...this.draining].map((replica) => replica.status()),
    });
  }

  /** Starts a whole generation; if any replica fails, all of it is stopped and the error rethrown. */
  private async startSet(
    spec: ResolvedDeployment,
    version: V,
    progress: Progress,
    signal: AbortSignal | undefined,
  ): Promise<R[]> {
    this.generation += 1;
    const generation = this.generation;
    const replicas = this.factory.create(spec, generation, version, 0);
    this.nextIndex = replicas.length;
    const source = this.factory.source?.(version);
    progress(
      `${this.id}: starting ${replicas.length} ${this.factory.noun}(s) of generation ${generation}${source === undefined ? '' : ` from ${source}`}`,
    );
    for (const replica of replicas) this.starting.add(replica);
    const cancel =
      signal === undefined ? this.removing.signal : AbortSignal.any([signal, this.removing.signal]);
    let failed: { error: unknown } | undefined;
    try {
      // Recorded as they start, so a crashed control plane's orphans can be found.
      failed = await startBounded(replicas, startParallelism, cancel, () =>
        this.factory.record?.(this.members()),
      );
    } finally {
      for (const replica of replicas) this.starting.delete(replica);
    }
    if (failed !== undefined) {
      const grace = this.factory.abandonGraceMs(spec);
      await Promise.all(replicas.map((replica) => replica.stop(grace)));
      this.factory.record?.(this.members());
      throw toBerthError(failed.error);
    }
    return replicas;
  }

  private async drain(replicas: R[], graceMs: number): Promise<void> {
    for (const replica of replicas) {
      this.draining.add(replica);
      replica.beginDrain();
    }
    // Requests routed just before the switch still reach the old replicas before they stop.
    if (this.factory.switchGraceMs > 0 && replicas.length > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.factory.switchGraceMs));
    }
    await Promise.all(replicas.map((replica) => replica.stop(graceMs)));
    for (const replica of replicas) this.draining.delete(replica);
    this.factory.record?.(this.members());
  }
}

/**
 * Starts replicas at most `lanes` at a time, so a large set never spawns all at once (a machine
 * stays responsive, a failure shows early). After a failure no further replica starts; those
 * already starting finish. Resolves with the first failure, or undefined.
 */
async function startBounded(
  replicas: readonly ManagedReplica[],
  lanes: number,
  signal: AbortSignal | undefined,
  onStart: () => void,
): Promise<{ error: unknown } | undefined> {
  let next = 0;
  let first = true;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < replicas.length && signal?.aborted !== true) {
      const replica = replicas[next]!;
      next += 1;
      const starting = replica.start(signal);
      if (!first) onStart();
      try {
        await starting;
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  // Every lane's first start happens now, synchronously: they are recorded together.
  const running = Array.from({ length: Math.min(lanes, replicas.length) }, lane);
  first = false;
  onStart();
  await Promise.all(running);
  if (failure === undefined && next < replicas.length) {
    failure = { error: new BerthError('SHUTTING_DOWN', 'the start was cancelled') };
  }
  return failure;
}
