/**
 * The local target: each replica is a child process of this one running the scoring server. It
 * serves test and debug; it enforces no resource limits (see capabilities.ts).
 *
 * States: open → closing → closed; close() drains and stops every deployment. Handles are JSON
 * (`{ target, kind: 'local', id: '<endpoint>/<deployment>', data }`); the replicas live only as
 * long as this process, so after a control-plane restart the control plane calls deploy() again
 * with the stored spec, and any replicas a crashed predecessor left behind are stopped first.
 */
import { mkdirSync } from 'node:fs';
import { BerthError } from '../../core/errors.js';
import { targetCapabilities } from '../capabilities.js';
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
import type { ResolvedLocalTargetConfig } from './config.js';
import { PidFile } from './pid-file.js';
import { DeploymentSupervisor } from './supervisor.js';

export type LocalTargetState = 'open' | 'closing' | 'closed';

export function deploymentId(spec: Pick<ResolvedDeployment, 'endpointName' | 'deploymentName'>): string {
  return `${spec.endpointName}/${spec.deploymentName}`;
}

export class LocalTarget implements ComputeTarget {
  readonly kind = 'local';
  readonly capabilities: TargetCapabilities = targetCapabilities.local;
  state: LocalTargetState = 'open';
  private readonly deployments = new Map<string, DeploymentSupervisor>();
  private readonly pids: PidFile;

  constructor(readonly config: ResolvedLocalTargetConfig) {
    mkdirSync(config.logsDir, { recursive: true });
    mkdirSync(config.runDir, { recursive: true });
    this.pids = new PidFile(config.runDir, config.scoringEntry);
  }

  async deploy(
    spec: ResolvedDeployment,
    progress: Progress,
    signal?: AbortSignal,
  ): Promise<DeploymentHandle> {
    this.assertOpen();
    for (const warning of validateForTarget(spec, this.capabilities, 'local'))
      progress(`warning: ${warning}`);
    const id = deploymentId(spec);
    const existing = this.deployments.get(id);
    if (existing !== undefined && existing.phase !== 'failed') {
      throw new BerthError(
        'CONFLICT',
        `deployment ${id} is already on target "${this.config.name}" (${existing.phase}): update it instead`,
      );
    }
    if (existing !== undefined) await this.removeSupervisor(existing);
    const orphans = this.pids.reapOrphans(id);
    if (orphans > 0) progress(`${id}: stopped ${orphans} replica(s) left by a previous run`);
    const supervisor = new DeploymentSupervisor(id, spec, this.config, this.pids);
    // Kept even when it fails, so status() reports Failed with the reason until remove().
    this.deployments.set(id, supervisor);
    await supervisor.deploy(progress, signal);
    return this.handleOf(supervisor);
  }

  async update(
    handle: DeploymentHandle,
    spec: ResolvedDeployment,
    progress: Progress,
  ): Promise<DeploymentHandle> {
    this.assertOpen();
    for (const warning of validateForTarget(spec, this.capabilities, 'local'))
      progress(`warning: ${warning}`);
    const supervisor = this.find(handle);
    if (deploymentId(spec) !== supervisor.id) {
      throw new BerthError(
        'BAD_INPUT',
        `the spec is for ${deploymentId(spec)}, the handle for ${supervisor.id}`,
      );
    }
    await supervisor.update(spec, progress);
    return this.handleOf(supervisor);
  }

  async status(handle: DeploymentHandle): Promise<DeploymentStatus> {
    return this.find(handle).status();
  }

  currentReplicas(handle: DeploymentHandle): ReplicaStatus[] {
    return this.deployments.get(handle.id)?.replicas() ?? [];
  }

  logs(handle: DeploymentHandle, options: LogOptions): AsyncIterable<LogLine> {
    return this.find(handle).logs.read(options.lines, options.follow, options.signal);
  }

  async remove(handle: DeploymentHandle): Promise<void> {
    const supervisor = this.deployments.get(handle.id);
    if (supervisor === undefined) return;
    await this.removeSupervisor(supervisor);
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    await Promise.all([...this.deployments.values()].map((supervisor) => this.removeSupervisor(supervisor)));
    this.state = 'closed';
  }

  private async removeSupervisor(supervisor: DeploymentSupervisor): Promise<void> {
    await supervisor.remove();
    if (this.deployments.get(supervisor.id) === supervisor) this.deployments.delete(supervisor.id);
  }

  private handleOf(supervisor: DeploymentSupervisor): DeploymentHandle {
    return {
      target: this.config.name,
      kind: 'local',
      id: supervisor.id,
      data: {
        endpoint: supervisor.deployment.endpointName,
        deployment: supervisor.deployment.deploymentName,
        generation: supervisor.generation,
        logFile: supervisor.logs.filePath,
        replicas: supervisor.replicas().map((replica) => ({ id: replica.id, url: replica.url })),
        pids: supervisor.pidList(),
      },
    };
  }

  private find(handle: DeploymentHandle): DeploymentSupervisor {
    const supervisor = this.deployments.get(handle.id);
    if (supervisor === undefined) {
      throw new BerthError(
        'NOT_FOUND',
        `deployment ${handle.id} is not running on local target "${this.config.name}" (replicas live as long as the process that deployed them: deploy it again from its spec)`,
      );
    }
    return supervisor;
  }

  private assertOpen(): void {
    if (this.state !== 'open')
      throw new BerthError('SHUTTING_DOWN', `local target "${this.config.name}" is ${this.state}`);
  }
}
