/**
 * One deployment on the container target: the containers serving now, those draining, and the
 * deployment's phase. Phases: creating → running ⇄ updating; creating → failed (a container could
 * not start: the reason is the server's own error); any → deleting → removed. Status maps phases
 * and replica health onto the same states as the local target.
 */
import { BerthError, toBerthError } from '../../core/errors.js';
import type { DeploymentStatus, Progress, ReplicaStatus, ResolvedDeployment } from '../target.js';
import type { ResolvedContainerTargetConfig } from './config.js';
import type { Engine } from './engine.js';
import type { LoggedContainer } from './logs.js';
import { ContainerReplica } from './replica.js';

export type ContainerDeploymentPhase =
  'creating' | 'running' | 'updating' | 'failed' | 'deleting' | 'removed';

export class ContainerDeployment {
  phase: ContainerDeploymentPhase = 'creating';
  failure: string | undefined;
  generation = 0;
  image: string | undefined;
  private current: ContainerReplica[] = [];
  private readonly draining = new Set<ContainerReplica>();

  constructor(
    readonly id: string,
    private spec: ResolvedDeployment,
    private readonly engine: Engine,
    private readonly config: ResolvedContainerTargetConfig,
  ) {}

  get deployment(): ResolvedDeployment {
    return this.spec;
  }

  /** Starts the first set; on failure the phase is `failed` and the error rethrown. */
  async deploy(image: string, progress: Progress, signal?: AbortSignal): Promise<void> {
    try {
      this.current = await this.startSet(this.spec, image, progress, signal);
      this.image = image;
      this.phase = 'running';
      progress(`${this.id}: ${this.current.length} container(s) ready`);
    } catch (error) {
      this.fail(error);
      throw toBerthError(error);
    }
  }

  /** Records a failure before any container started (e.g. the image build). */
  fail(error: unknown): void {
    this.phase = 'failed';
    this.failure = toBerthError(error).message;
  }

  /** Rolling: the new set is ready before traffic switches; the old set then drains. */
  async update(spec: ResolvedDeployment, image: string, progress: Progress): Promise<void> {
    if (this.phase !== 'running') {
      throw new BerthError(
        'CONFLICT',
        `deployment ${this.id} is ${this.phase}: it can be updated only while running`,
      );
    }
    this.phase = 'updating';
    let next: ContainerReplica[];
    try {
      next = await this.startSet(spec, image, progress, undefined);
    } catch (error) {
      this.phase = 'running';
      const berth = toBerthError(error);
      throw new BerthError(
        berth.code,
        `update of ${this.id} failed, the previous version keeps serving: ${berth.message}`,
        {
          cause: berth,
        },
      );
    }
    const old = this.current;
    this.current = next;
    this.spec = spec;
    this.image = image;
    this.phase = 'running';
    progress(
      `${this.id}: switched to generation ${this.generation}; draining ${old.length} old container(s)`,
    );
    await this.drain(old);
  }

  async remove(): Promise<void> {
    this.phase = 'deleting';
    const all = this.current;
    this.current = [];
    await this.drain(all);
    await Promise.all([...this.draining].map((replica) => replica.stop(this.graceSeconds())));
    this.phase = 'removed';
  }

  replicas(): ReplicaStatus[] {
    return this.current.map((replica) => replica.status());
  }

  /** Every container of the deployment, serving or draining, for its logs. */
  containers(): LoggedContainer[] {
    return [...this.current, ...this.draining].flatMap((replica) =>
      replica.containerId === undefined ? [] : [{ id: replica.containerId, replica: replica.id }],
    );
  }

  containerIds(): string[] {
    return this.containers().map((container) => container.id);
  }

  status(): DeploymentStatus {
    const replicas = [...this.current, ...this.draining].map((replica) => replica.status());
    const serving = this.current.map((replica) => replica.status());
    const ready = serving.filter((replica) => replica.state === 'ready').length;
    switch (this.phase) {
      case 'creating':
        return {
          state: 'Creating',
          reason: `building the image and starting ${this.spec.instanceCount} container(s)`,
          replicas,
        };
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

  private graceSeconds(): number {
    return Math.ceil((this.spec.requestSettings.requestTimeoutMs + 3500) / 1000);
  }

  private async startSet(
    spec: ResolvedDeployment,
    image: string,
    progress: Progress,
    signal: AbortSignal | undefined,
  ): Promise<ContainerReplica[]> {
    this.generation += 1;
    const generation = this.generation;
    const replicas = Array.from(
      { length: spec.instanceCount },
      (_, index) =>
        new ContainerReplica(this.engine, this.config, {
          target: this.config.name,
          endpoint: spec.endpointName,
          deployment: spec.deploymentName,
          generation,
          replica: `${spec.deploymentName}-${generation}-${index}`,
        }),
    );
    progress(
      `${this.id}: starting ${replicas.length} container(s) of generation ${generation} from ${image}`,
    );
    const results = await Promise.allSettled(replicas.map((replica) => replica.start(image, spec, signal)));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(replicas.map((replica) => replica.stop(0)));
      throw toBerthError(failed.reason);
    }
    return replicas;
  }

  private async drain(replicas: ContainerReplica[]): Promise<void> {
    for (const replica of replicas) {
      this.draining.add(replica);
      replica.beginDrain();
    }
    // Requests routed just before the switch still reach the old containers before they stop.
    if (this.config.switchGraceMs > 0 && replicas.length > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.config.switchGraceMs));
    }
    await Promise.all(replicas.map((replica) => replica.stop(this.graceSeconds())));
    for (const replica of replicas) this.draining.delete(replica);
  }
}
