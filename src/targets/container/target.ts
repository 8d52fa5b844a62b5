/**
 * The container target: each replica is a container on a Docker Engine (local or remote), run
 * from an image berth builds from the deployment (base image → scoring server → model → code and
 * options). It serves test and dev workloads on the CPU; its row of the capabilities table (models
 * up to 1 GB, 48 GB of memory, no GPU) is checked before anything is built.
 *
 * States: open → closing → closed; close() drains and removes every deployment's containers.
 * Handles are JSON (`{ target, kind: 'container', id: '<endpoint>/<deployment>', data }`). As with
 * the local target, the containers live as long as this adapter: after a control-plane restart
 * the control plane calls deploy() again, which first removes any containers a crashed
 * predecessor left (found by their `berth.target`, `berth.endpoint`, `berth.deployment` labels).
 */
import { BerthError } from '../../core/errors.js';
import { targetCapabilities } from '../capabilities.js';
import { deploymentId } from '../local/target.js';
import type {
  ComputeTarget,
  DeploymentHandle,
  DeploymentStatus,
  LogLine,
  LogOptions,
  Progress,
  ReplicaStatus,
  ResolvedDeployment,
  TargetCapabilities,
} from '../target.js';
import { validateForTarget } from '../validate.js';
import { planImage } from './build-context.js';
import { serverBundle } from './bundle.js';
import type { ResolvedContainerTargetConfig } from './config.js';
import { findContainers, removeContainer } from './containers.js';
import { connectEngine, pingEngine, type Engine } from './engine.js';
import { ensureImage } from './image.js';
import { followLogs, tailLogs } from './logs.js';
import { ContainerDeployment } from './supervisor.js';

export type ContainerTargetState = 'open' | 'closing' | 'closed';

export class ContainerTarget implements ComputeTarget {
  readonly kind = 'container';
  readonly capabilities: TargetCapabilities = targetCapabilities.container;
  state: ContainerTargetState = 'open';
  readonly engine: Engine;
  private readonly deployments = new Map<string, ContainerDeployment>();

  constructor(readonly config: ResolvedContainerTargetConfig) {
    this.engine = connectEngine(config.dockerHost, config.apiTimeoutMs);
  }

  async deploy(
    spec: ResolvedDeployment,
    progress: Progress,
    signal?: AbortSignal,
  ): Promise<DeploymentHandle> {
    this.assertOpen();
    this.check(spec, progress);
    const id = deploymentId(spec);
    const existing = this.deployments.get(id);
    if (existing !== undefined && existing.phase !== 'failed') {
      throw new BerthError(
        'CONFLICT',
        `deployment ${id} is already on target "${this.config.name}" (${existing.phase}): update it instead`,
      );
    }
    await pingEngine(this.engine, this.config.dockerHost);
    if (existing !== undefined) await this.removeDeployment(existing);
    const orphans = await this.removeLabelled(spec.endpointName, spec.deploymentName);
    if (orphans > 0) progress(`${id}: removed ${orphans} container(s) left by a previous run`);
    const deployment = new ContainerDeployment(id, spec, this.engine, this.config);
    // Kept even when it fails, so status() reports Failed with the reason until remove().
    this.deployments.set(id, deployment);
    let image: string;
    try {
      image = await this.image(spec, progress);
    } catch (error) {
      deployment.fail(error);
      throw error;
    }
    await deployment.deploy(image, progress, signal);
    return this.handleOf(deployment);
  }

  async update(
    handle: DeploymentHandle,
    spec: ResolvedDeployment,
    progress: Progress,
  ): Promise<DeploymentHandle> {
    this.assertOpen();
    this.check(spec, progress);
    const deployment = this.find(handle);
    if (deploymentId(spec) !== deployment.id) {
      throw new BerthError(
        'BAD_INPUT',
        `the spec is for ${deploymentId(spec)}, the handle for ${deployment.id}`,
      );
    }
    await pingEngine(this.engine, this.config.dockerHost);
    const image = await this.image(spec, progress);
    await deployment.update(spec, image, progress);
    return this.handleOf(deployment);
  }

  async status(handle: DeploymentHandle): Promise<DeploymentStatus> {
    return this.find(handle).status();
  }

  currentReplicas(handle: DeploymentHandle): ReplicaStatus[] {
    return this.deployments.get(handle.id)?.replicas() ?? [];
  }

  logs(handle: DeploymentHandle, options: LogOptions): AsyncIterable<LogLine> {
    const containers = this.find(handle).containers();
    if (options.follow) return followLogs(this.engine, containers, options.lines, options.signal);
    const engine = this.engine;
    return (async function* () {
      yield* await tailLogs(engine, containers, options.lines);
    })();
  }

  /** Removes the deployment's containers, including any this adapter did not start (by label). */
  async remove(handle: DeploymentHandle): Promise<void> {
    const deployment = this.deployments.get(handle.id);
    if (deployment !== undefined) await this.removeDeployment(deployment);
    const [endpoint, name] = handle.id.split('/');
    if (endpoint !== undefined && name !== undefined) await this.removeLabelled(endpoint, name);
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    await Promise.all([...this.deployments.values()].map((deployment) => this.removeDeployment(deployment)));
    this.state = 'closed';
  }

  /** Refuses what the table rules out (model > 1 GB, memory > 48 GB, a GPU) before any build. */
  private check(spec: ResolvedDeployment, progress: Progress): void {
    for (const warning of validateForTarget(spec, this.capabilities, 'container'))
      progress(`warning: ${warning}`);
  }

  private async image(spec: ResolvedDeployment, progress: Progress): Promise<string> {
    const bundle = await serverBundle(this.config.cacheDir);
    const plan = await planImage(spec, bundle, this.config.baseImage);
    const started = Date.now();
    const result = await ensureImage(this.engine, this.config.dockerHost, plan, progress);
    progress(
      result.built.length === 0
        ? `image ${result.tag} reused`
        : `image ${result.tag} ready in ${Date.now() - started} ms (built: ${result.built.join(', ')})`,
    );
    return result.tag;
  }

  private async removeLabelled(endpoint: string, deployment: string): Promise<number> {
    const ids = await findContainers(this.engine, this.config.dockerHost, {
      'berth.target': this.config.name,
      'berth.endpoint': endpoint,
      'berth.deployment': deployment,
    });
    const live = new Set([...this.deployments.values()].flatMap((found) => found.containerIds()));
    const orphans = ids.filter((id) => !live.has(id));
    await Promise.all(orphans.map((id) => removeContainer(this.engine, this.config.dockerHost, id, 0)));
    return orphans.length;
  }

  private async removeDeployment(deployment: ContainerDeployment): Promise<void> {
    await deployment.remove();
    if (this.deployments.get(deployment.id) === deployment) this.deployments.delete(deployment.id);
  }

  private handleOf(deployment: ContainerDeployment): DeploymentHandle {
    return {
      target: this.config.name,
      kind: 'container',
      id: deployment.id,
      data: {
        endpoint: deployment.deployment.endpointName,
        deployment: deployment.deployment.deploymentName,
        generation: deployment.generation,
        image: deployment.image,
        dockerHost: this.config.dockerHost,
        replicas: deployment.containers().map((container) => ({
          id: container.replica,
          container: container.id,
          url: deployment.replicas().find((replica) => replica.id === container.replica)?.url,
        })),
      },
    };
  }

  private find(handle: DeploymentHandle): ContainerDeployment {
    const deployment = this.deployments.get(handle.id);
    if (deployment === undefined) {
      throw new BerthError(
        'NOT_FOUND',
        `deployment ${handle.id} is not running on container target "${this.config.name}" (containers live as long as the adapter that started them: deploy it again from its spec)`,
      );
    }
    return deployment;
  }

  private assertOpen(): void {
    if (this.state !== 'open')
      throw new BerthError('SHUTTING_DOWN', `container target "${this.config.name}" is ${this.state}`);
  }
}
