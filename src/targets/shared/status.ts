/**
 * A deployment's phase and replica health mapped onto Azure's states (Creating, Transitioning,
 * Healthy, Unhealthy, Failed, Deleting), with a reason wherever the state is not Healthy: the
 * same words on every target, so a client reads a deployment the same way wherever it runs.
 */
import type { DeploymentStatus, ReplicaStatus } from '../target.js';

export type DeploymentPhase = 'creating' | 'running' | 'updating' | 'failed' | 'deleting' | 'removed';

export interface StatusInput {
  phase: DeploymentPhase;
  /** The failure's message, in phase `failed`. */
  failure: string | undefined;
  /** The generation starting, in phase `updating`. */
  generation: number;
  instanceCount: number;
  /** The Creating reason, e.g. 'starting 2 replica(s)'. */
  creating: string;
  /** The replicas in rotation. */
  serving: ReplicaStatus[];
  /** Serving and draining. */
  all: ReplicaStatus[];
}

export function deploymentStatus(input: StatusInput): DeploymentStatus {
  const { all: replicas, serving, instanceCount } = input;
  switch (input.phase) {
    case 'creating':
      return { state: 'Creating', reason: input.creating, replicas };
    case 'updating':
      return {
        state: 'Transitioning',
        reason: `rolling update: starting generation ${input.generation}`,
        replicas,
      };
    case 'failed':
      return { state: 'Failed', reason: input.failure, replicas };
    case 'deleting':
    case 'removed':
      return { state: 'Deleting', reason: undefined, replicas };
    case 'running': {
      const ready = serving.filter((replica) => replica.state === 'ready').length;
      if (ready >= instanceCount) return { state: 'Healthy', reason: undefined, replicas };
      const notReady = serving
        .filter((replica) => replica.state !== 'ready')
        .map(
          (replica) =>
            `${replica.id} ${replica.state}${replica.reason === undefined ? '' : ` (${replica.reason})`}`,
        );
      return {
        state: 'Unhealthy',
        reason: `${ready} of ${instanceCount} replicas ready: ${notReady.join('; ')}`,
        replicas,
      };
    }
  }
}
