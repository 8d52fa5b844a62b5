/**
 * The local target: each replica is a child process of this one running the scoring server. It
 * serves test and debug. It holds each replica to a memory limit (the scoring server's own
 * whole-process limit, from `resources` or a printed default) and a deployment to the replicas this
 * machine can hold; it does not hold a replica to its CPU share (see capabilities.ts).
 *
 * The shared ReplicaSetTarget does the plumbing (states open → closing → closed, handles
 * `{ target, kind: 'local', id: '<endpoint>/<deployment>', data }`); this class adds the log ring,
 * the pid file and orphan reaping. The replicas live only as long as this process, so after a
 * control-plane restart the control plane calls deploy() again with the stored spec, and any
 * replicas a crashed predecessor left behind are stopped first.
 */
import { mkdirSync } from 'node:fs';
import { targetCapabilities } from '../capabilities.js';
import { describeMemoryLimit } from '../shared/memory.js';
import { localCapacity, type ReplicaCapacity } from '../shared/replica-limits.js';
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
import type { ResolvedLocalTargetConfig } from './config.js';
import { PidFile } from './pid-file.js';
import type { Replica } from './replica.js';
import { LocalReplicas, pidsOf } from './replica-factory.js';

export type LocalTargetState = TargetState;

export class LocalTarget extends ReplicaSetTarget<Replica, undefined, LocalReplicas> {
  readonly kind = 'local';
  readonly capabilities: TargetCapabilities = targetCapabilities.local;
  private readonly pids: PidFile;

  constructor(readonly config: ResolvedLocalTargetConfig) {
    super(config.name, 'replicas live as long as the process that deployed them');
    mkdirSync(config.logsDir, { recursive: true });
    mkdirSync(config.runDir, { recursive: true });
    this.pids = new PidFile(config.runDir, config.scoringEntry);
  }

  logs(handle: DeploymentHandle, options: LogOptions): AsyncIterable<LogLine> {
    return this.find(handle).factory.logs.read(options.lines, options.follow, options.signal);
  }

  protected createFactory(id: string, spec: ResolvedDeployment): LocalReplicas {
    return new LocalReplicas(id, spec, this.config, this.pids);
  }

  /** What this machine's cores and available memory can hold, at this deployment's memory each. */
  protected async capacity(spec: ResolvedDeployment): Promise<ReplicaCapacity> {
    return localCapacity(spec);
  }

  /** Nothing to prepare: every generation runs the scoring server of this installation. */
  protected async release(spec: ResolvedDeployment, progress: Progress): Promise<undefined> {
    progress(`${deploymentId(spec)}: ${describeMemoryLimit(spec)}`);
    return undefined;
  }

  protected async removeOrphans(spec: ResolvedDeployment, progress: Progress): Promise<void> {
    const id = deploymentId(spec);
    const orphans = this.pids.reapOrphans(id);
    if (orphans > 0) progress(`${id}: stopped ${orphans} replica(s) left by a previous run`);
  }

  /** Scaling decisions appear in `berth deployment logs` beside the replicas' lines. */
  protected override scaleLog(id: string, line: string): void {
    this.deployments.get(id)?.factory.logs.push({
      replica: 'autoscaler',
      time: new Date().toISOString(),
      stream: 'stdout',
      text: line,
    });
  }

  protected handleData(deployment: ReplicaSet<Replica, undefined, LocalReplicas>): Record<string, unknown> {
    return {
      logFile: deployment.factory.logs.filePath,
      replicas: deployment.replicas().map((replica) => ({ id: replica.id, url: replica.url })),
      pids: pidsOf(deployment.members()),
    };
  }
}
