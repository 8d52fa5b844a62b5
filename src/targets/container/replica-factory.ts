/**
 * The container half of one deployment, for the shared replica-set supervisor: each generation's
 * replicas are containers run from the image built for it, labelled with the target, endpoint,
 * deployment, generation and replica (how orphans are found after a crash).
 */
import type { ReplicaFactory } from '../shared/replica.js';
import { replicaStopGraceMs } from '../shared/scoring-options.js';
import type { ResolvedDeployment } from '../target.js';
import type { ResolvedContainerTargetConfig } from './config.js';
import type { Engine } from './engine.js';
import type { LoggedContainer } from './logs.js';
import { ContainerReplica } from './replica.js';

export class ContainerReplicas implements ReplicaFactory<ContainerReplica, string> {
  readonly noun = 'container';
  readonly preparing = 'building the image';
  readonly switchGraceMs: number;

  constructor(
    private readonly engine: Engine,
    private readonly config: ResolvedContainerTargetConfig,
  ) {
    this.switchGraceMs = config.switchGraceMs;
  }

  create(spec: ResolvedDeployment, generation: number, image: string, firstIndex = 0): ContainerReplica[] {
    return Array.from(
      { length: spec.instanceCount },
      (_, index) =>
        new ContainerReplica(
          this.engine,
          this.config,
          {
            target: this.config.name,
            endpoint: spec.endpointName,
            deployment: spec.deploymentName,
            generation,
            replica: `${spec.deploymentName}-${generation}-${firstIndex + index}`,
          },
          image,
          spec,
        ),
    );
  }

  source(image: string): string {
    return image;
  }

  drainGraceMs(spec: ResolvedDeployment): number {
    return replicaStopGraceMs(spec);
  }

  /** A set that failed to start never served: its containers are killed at once. */
  abandonGraceMs(): number {
    return 0;
  }
}

/** Every container of a deployment, serving or draining, for its logs and handle. */
export function containersOf(replicas: readonly ContainerReplica[]): LoggedContainer[] {
  return replicas.flatMap((replica) =>
    replica.containerId === undefined ? [] : [{ id: replica.containerId, replica: replica.id }],
  );
}
