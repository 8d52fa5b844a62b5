/**
 * The container target: each replica is a container on a Docker Engine (local or remote), run
 * from an image berth builds from the deployment (base image → scoring server → model → code and
 * options). It serves test and dev workloads on the CPU; its row of the capabilities table (models
 * up to 1 GB, 48 GB of memory, no GPU) is checked before anything is built.
 *
 * The shared ReplicaSetTarget does the plumbing (states open → closing → closed, handles
 * `{ target, kind: 'container', id: '<endpoint>/<deployment>', data }`); this class adds the
 * engine, the image build and Docker logs. As with the local target, the containers live as long
 * as this adapter: after a control-plane restart the control plane calls deploy() again, which
 * first removes any containers a crashed predecessor left (found by their `berth.target`,
 * `berth.endpoint`, `berth.deployment` labels).
 */
import { targetCapabilities } from '../capabilities.js';
import { describeMemoryLimit } from '../shared/memory.js';
import { capacityOf, replicaMemory, type ReplicaCapacity } from '../shared/replica-limits.js';
import type { ReplicaSet } from '../shared/replica-set.js';
import { deploymentId, ReplicaSetTarget, type TargetState } from '../shared/replica-set-target.js';
import type {
  DeploymentHandle,
  LogLine,
  LogOptions,
  Progress,
  ResolvedDeployment,
  TargetCapabilities,
} from '../target.js';
import { planImage } from './build-context.js';
import { serverBundle } from './bundle.js';
import type { ResolvedContainerTargetConfig } from './config.js';
import { findContainers, removeContainer } from './containers.js';
import { connectEngine, engineResources, pingEngine, type Engine } from './engine.js';
import { ensureImage } from './image.js';
import { followLogs, tailLogs } from './logs.js';
import type { ContainerReplica } from './replica.js';
import { ContainerReplicas, containersOf } from './replica-factory.js';

export type ContainerTargetState = TargetState;

type ContainerSet = ReplicaSet<ContainerReplica, string, ContainerReplicas>;

export class ContainerTarget extends ReplicaSetTarget<ContainerReplica, string, ContainerReplicas> {
  readonly kind = 'container';
  readonly capabilities: TargetCapabilities = targetCapabilities.container;
  readonly engine: Engine;

  constructor(readonly config: ResolvedContainerTargetConfig) {
    super(config.name, 'containers live as long as the adapter that started them');
    this.engine = connectEngine(config.dockerHost, config.apiTimeoutMs);
  }

  logs(handle: DeploymentHandle, options: LogOptions): AsyncIterable<LogLine> {
    const containers = containersOf(this.find(handle).members());
    if (options.follow) return followLogs(this.engine, containers, options.lines, options.signal);
    const engine = this.engine;
    return (async function* () {
      yield* await tailLogs(engine, containers, options.lines);
    })();
  }

  /** Removes the deployment's containers, including any this adapter did not start (by label). */
  override async remove(handle: DeploymentHandle): Promise<void> {
    await super.remove(handle);
    const [endpoint, name] = handle.id.split('/');
    if (endpoint !== undefined && name !== undefined) await this.removeLabelled(endpoint, name);
  }

  protected createFactory(): ContainerReplicas {
    return new ContainerReplicas(this.engine, this.config);
  }

  protected override async reachable(): Promise<void> {
    await pingEngine(this.engine, this.config.dockerHost);
  }

  /** What the engine reports (docker info: NCPU, MemTotal), at this deployment's memory each. */
  protected async capacity(spec: ResolvedDeployment): Promise<ReplicaCapacity> {
    const engine = await engineResources(this.engine, this.config.dockerHost);
    return capacityOf(engine.cpus, engine.memoryBytes, replicaMemory(spec).bytes, {
      cores: `CPU(s) the engine at ${this.config.dockerHost} reports`,
      memory: 'of memory the engine reports',
    });
  }

  /** Builds (or reuses) the deployment's image: every generation runs one. */
  protected async release(spec: ResolvedDeployment, progress: Progress): Promise<string> {
    const memory = `${deploymentId(spec)}: ${describeMemoryLimit(spec)}`;
    progress(spec.resources.memoryBytes === undefined ? `warning: ${memory}` : memory);
    const bundle = await serverBundle(this.config.cacheDir);
    const plan = await planImage(spec, bundle, this.config.baseImage, this.config.cacheDir);
    for (const warning of plan.warnings) progress(`warning: ${deploymentId(spec)}: ${warning}`);
    const started = Date.now();
    const result = await ensureImage(this.engine, this.config.dockerHost, plan, progress);
    progress(
      result.built.length === 0
        ? `image ${result.tag} reused`
        : `image ${result.tag} ready in ${Date.now() - started} ms (built: ${result.built.join(', ')})`,
    );
    return result.tag;
  }

  protected async removeOrphans(spec: ResolvedDeployment, progress: Progress): Promise<void> {
    const orphans = await this.removeLabelled(spec.endpointName, spec.deploymentName);
    if (orphans > 0)
      progress(`${deploymentId(spec)}: removed ${orphans} container(s) left by a previous run`);
  }

  protected handleData(deployment: ContainerSet): Record<string, unknown> {
    const serving = deployment.replicas();
    return {
      image: deployment.version,
      dockerHost: this.config.dockerHost,
      replicas: containersOf(deployment.members()).map((container) => ({
        id: container.replica,
        container: container.id,
        url: serving.find((replica) => replica.id === container.replica)?.url,
      })),
    };
  }

  private async removeLabelled(endpoint: string, deployment: string): Promise<number> {
    const ids = await findContainers(this.engine, this.config.dockerHost, {
      'berth.target': this.config.name,
      'berth.endpoint': endpoint,
      'berth.deployment': deployment,
    });
    const live = new Set(
      [...this.deployments.values()].flatMap((found) =>
        containersOf(found.members()).map((container) => container.id),
      ),
    );
    const orphans = ids.filter((id) => !live.has(id));
    await Promise.all(orphans.map((id) => removeContainer(this.engine, this.config.dockerHost, id, 0)));
    return orphans.length;
  }
}
