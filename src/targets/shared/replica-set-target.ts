/**
 * The ComputeTarget plumbing every replica-set target shares: a map of deployment id →
 * ReplicaSet, the conflict and identity checks, status, remove and close. A subclass supplies the
 * ReplicaFactory for a deployment, what a generation runs (`release`: e.g. build the image), how
 * leftovers of a crashed predecessor are found, the handle's data, and logs.
 *
 * States: open → closing → closed; close() drains and stops every deployment. Handles are JSON
 * (`{ target, kind, id: '<endpoint>/<deployment>', data }`). Replicas live as long as the adapter:
 * after a control-plane restart the control plane calls deploy() again with the stored spec.
 */
import { BerthError } from '../../core/errors.js';
import type { TargetUtilization } from '../../core/specs/scale-settings.js';
import { Autoscaler } from '../autoscale/autoscaler.js';
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
  TargetKind,
} from '../target.js';
import { validateForTarget } from '../validate.js';
import type { ManagedReplica, ReplicaFactory } from './replica.js';
import { assertFits, type ReplicaCapacity } from './replica-limits.js';
import { ReplicaSet } from './replica-set.js';

export type TargetState = 'open' | 'closing' | 'closed';

export function deploymentId(spec: Pick<ResolvedDeployment, 'endpointName' | 'deploymentName'>): string {
  return `${spec.endpointName}/${spec.deploymentName}`;
}

export abstract class ReplicaSetTarget<
  R extends ManagedReplica,
  V,
  F extends ReplicaFactory<R, V>,
> implements ComputeTarget {
  abstract readonly kind: TargetKind;
  abstract readonly capabilities: TargetCapabilities;
  state: TargetState = 'open';
  protected readonly deployments = new Map<string, ReplicaSet<R, V, F>>();
  /** One per deployment with scale_settings target_utilization, on a target that autoscales. */
  private readonly autoscalers = new Map<string, Autoscaler>();

  /**
   * @param targetName the target's name in handles and messages
   * @param lifetime why a deployment can be missing, for NOT_FOUND: e.g. 'replicas live as long as
   *   the process that deployed them'
   */
  protected constructor(
    private readonly targetName: string,
    private readonly lifetime: string,
  ) {}

  /** The target-specific half of one deployment. */
  protected abstract createFactory(id: string, spec: ResolvedDeployment): F;
  /** Prepares what a generation runs, e.g. builds its image; before any replica of it starts. */
  protected abstract release(spec: ResolvedDeployment, progress: Progress): Promise<V>;
  /** Stops replicas of this deployment that a crashed predecessor left running. */
  protected abstract removeOrphans(spec: ResolvedDeployment, progress: Progress): Promise<void>;
  /** The target's part of a handle's data, after endpoint, deployment and generation. */
  protected abstract handleData(deployment: ReplicaSet<R, V, F>): Record<string, unknown>;
  abstract logs(handle: DeploymentHandle, options: LogOptions): AsyncIterable<LogLine>;

  /** How many replicas one deployment may have here, and why (the machine's or the engine's size). */
  protected abstract capacity(spec: ResolvedDeployment): Promise<ReplicaCapacity>;

  /** Checks, before anything is replaced, that the target can act at all (e.g. reach its engine). */
  protected async reachable(): Promise<void> {}

  async deploy(
    spec: ResolvedDeployment,
    progress: Progress,
    signal?: AbortSignal,
  ): Promise<DeploymentHandle> {
    this.assertOpen();
    await this.warn(spec, progress);
    const id = deploymentId(spec);
    const existing = this.deployments.get(id);
    if (existing !== undefined && existing.phase !== 'failed') {
      throw new BerthError(
        'CONFLICT',
        `deployment ${id} is already on target "${this.targetName}" (${existing.phase}): update it instead`,
      );
    }
    await this.reachable();
    if (existing !== undefined) await this.removeDeployment(existing);
    await this.removeOrphans(spec, progress);
    const deployment = new ReplicaSet<R, V, F>(id, spec, this.createFactory(id, spec), this.scalingOf(spec));
    // Kept even when it fails, so status() reports Failed with the reason until remove().
    this.deployments.set(id, deployment);
    let version: V;
    try {
      version = await this.release(spec, progress);
    } catch (error) {
      deployment.fail(error);
      throw error;
    }
    await deployment.deploy(version, progress, signal);
    this.syncAutoscaler(deployment, spec);
    return this.handleOf(deployment);
  }

  async update(
    handle: DeploymentHandle,
    spec: ResolvedDeployment,
    progress: Progress,
  ): Promise<DeploymentHandle> {
    this.assertOpen();
    await this.warn(spec, progress);
    const deployment = this.find(handle);
    if (deploymentId(spec) !== deployment.id) {
      throw new BerthError(
        'BAD_INPUT',
        `the spec is for ${deploymentId(spec)}, the handle for ${deployment.id}`,
      );
    }
    await this.reachable();
    const version = await this.release(spec, progress);
    await deployment.update(spec, version, progress, this.scalingOf(spec));
    this.syncAutoscaler(deployment, spec);
    return this.handleOf(deployment);
  }

  async status(handle: DeploymentHandle): Promise<DeploymentStatus> {
    const status = this.find(handle).status();
    const autoscaler = this.autoscalers.get(handle.id);
    if (autoscaler === undefined) return status;
    const scaling = autoscaler.status();
    const idle = status.state === 'Healthy' && scaling.desired === 0 && scaling.replicas === 0;
    return {
      ...status,
      reason: idle ? 'scaled to zero: the next request starts a replica' : status.reason,
      scaling,
    };
  }

  async awaitReplica(handle: DeploymentHandle, timeoutMs: number): Promise<boolean> {
    const autoscaler = this.autoscalers.get(handle.id);
    if (autoscaler !== undefined) return autoscaler.awaitReplica(timeoutMs);
    return (this.deployments.get(handle.id)?.readyCount() ?? 0) > 0;
  }

  currentReplicas(handle: DeploymentHandle): ReplicaStatus[] {
    return this.deployments.get(handle.id)?.replicas() ?? [];
  }

  async remove(handle: DeploymentHandle): Promise<void> {
    const deployment = this.deployments.get(handle.id);
    if (deployment !== undefined) await this.removeDeployment(deployment);
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    await Promise.all([...this.deployments.values()].map((deployment) => this.removeDeployment(deployment)));
    this.state = 'closed';
  }

  protected find(handle: DeploymentHandle): ReplicaSet<R, V, F> {
    const deployment = this.deployments.get(handle.id);
    if (deployment === undefined) {
      throw new BerthError(
        'NOT_FOUND',
        `deployment ${handle.id} is not running on ${this.kind} target "${this.targetName}" (${this.lifetime}: deploy it again from its spec)`,
      );
    }
    return deployment;
  }

  /**
   * Refuses, with INVALID_SPEC and the reason, what this target cannot run: what its capabilities
   * rule out, and more replicas than it can hold. Starts nothing; returns what the target ignores.
   */
  async validate(spec: ResolvedDeployment): Promise<string[]> {
    const warnings = validateForTarget(spec, this.capabilities, this.kind);
    assertFits(spec, await this.capacity(spec), this.targetName, this.scalingOf(spec)?.maxInstances);
    return warnings;
  }

  private async warn(spec: ResolvedDeployment, progress: Progress): Promise<void> {
    for (const warning of await this.validate(spec)) progress(`warning: ${warning}`);
  }

  /** The settings the autoscaler applies: only where this target autoscales (else a warning said so). */
  private scalingOf(spec: ResolvedDeployment): TargetUtilization | undefined {
    const scale = spec.scaleSettings;
    return this.capabilities.autoscale && scale?.type === 'target_utilization' ? scale : undefined;
  }

  private syncAutoscaler(deployment: ReplicaSet<R, V, F>, spec: ResolvedDeployment): void {
    const scaling = this.scalingOf(spec);
    const existing = this.autoscalers.get(deployment.id);
    if (scaling === undefined) {
      existing?.stop();
      this.autoscalers.delete(deployment.id);
      return;
    }
    if (existing !== undefined) {
      existing.configure(scaling, spec.resources.cpu);
      return;
    }
    this.autoscalers.set(
      deployment.id,
      new Autoscaler(deployment, scaling, spec.resources.cpu, (line) => this.scaleLog(deployment.id, line)),
    );
  }

  /** Where an autoscaler's decisions go besides `endpoint show`: a target may add them to its logs. */
  protected scaleLog(_id: string, _line: string): void {}

  private async removeDeployment(deployment: ReplicaSet<R, V, F>): Promise<void> {
    const autoscaler = this.autoscalers.get(deployment.id);
    autoscaler?.stop();
    if (this.autoscalers.get(deployment.id) === autoscaler) this.autoscalers.delete(deployment.id);
    await deployment.remove();
    if (this.deployments.get(deployment.id) === deployment) this.deployments.delete(deployment.id);
  }

  private handleOf(deployment: ReplicaSet<R, V, F>): DeploymentHandle {
    return {
      target: this.targetName,
      kind: this.kind,
      id: deployment.id,
      data: {
        endpoint: deployment.deployment.endpointName,
        deployment: deployment.deployment.deploymentName,
        generation: deployment.generation,
        ...this.handleData(deployment),
      },
    };
  }

  private assertOpen(): void {
    if (this.state !== 'open')
      throw new BerthError('SHUTTING_DOWN', `${this.kind} target "${this.targetName}" is ${this.state}`);
  }
}
