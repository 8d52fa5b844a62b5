/**
 * How many replicas a target can hold, and how much memory each replica may use: the limits a
 * replica-set target checks before it starts anything. A target justifies its limit with what it
 * runs on (this machine's cores and memory, or what a container engine reports), and the refusal
 * says those numbers, so `instance_count: 100000` is a spec error with its reason rather than a
 * machine brought to its knees.
 */
import { availableParallelism, freemem, totalmem } from 'node:os';
import { BerthError } from '../../core/errors.js';
import { formatBytes } from '../capabilities.js';
import type { ResolvedDeployment } from '../target.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** Replicas per core: a scoring server mostly waits on I/O or its worker, so a few share a core. */
export const replicasPerCore = 4;

/** How many replicas of a generation start at once: the rest wait for a slot. */
export const startParallelism = 4;

export interface ReplicaCapacity {
  /** The most replicas one deployment may ask for. */
  max: number;
  /** Where `max` comes from, in words with the numbers. */
  basis: string;
}

export interface ReplicaMemory {
  bytes: number;
  /** Where `bytes` comes from, for the line printed at deploy time. */
  source: string;
}

/**
 * The memory a replica is held to: `resources` (limits, else requests), else a default of a quarter
 * of `totalBytes` between 256 MiB and 1 GiB, enough for a small model's server, and small enough
 * that a few replicas fit beside everything else on a laptop.
 */
export function replicaMemory(spec: ResolvedDeployment, totalBytes: number = totalmem()): ReplicaMemory {
  if (spec.resources.memoryBytes !== undefined) {
    return { bytes: spec.resources.memoryBytes, source: 'from resources' };
  }
  const bytes = Math.max(256 * MiB, Math.min(GiB, Math.floor(totalBytes / 4)));
  return {
    bytes,
    source: 'default: no resources.limits.memory or resources.requests.memory; set one to change it',
  };
}

/** `min(cores × 4, memory / per-replica memory)`, with both numbers in the basis. */
export function capacityOf(
  cores: number,
  memoryBytes: number,
  perReplicaBytes: number,
  where: { cores: string; memory: string },
): ReplicaCapacity {
  const byCores = Math.max(1, cores * replicasPerCore);
  const byMemory = Math.max(0, Math.floor(memoryBytes / perReplicaBytes));
  return {
    max: Math.min(byCores, byMemory),
    basis:
      `${cores} ${where.cores} × ${replicasPerCore} = ${byCores} by CPU; ` +
      `${formatBytes(memoryBytes)} ${where.memory} / ${formatBytes(perReplicaBytes)} per replica = ${byMemory} by memory`,
  };
}

/** What this machine can hold now: its cores, and the memory available to new processes. */
export function localCapacity(spec: ResolvedDeployment): ReplicaCapacity {
  return capacityOf(availableParallelism(), freemem(), replicaMemory(spec).bytes, {
    cores: 'core(s) on this machine',
    memory: 'of memory available on this machine',
  });
}

/** Throws INVALID_SPEC when the deployment asks for more replicas than `capacity` holds. */
export function assertFits(
  spec: ResolvedDeployment,
  capacity: ReplicaCapacity,
  target: string,
  maxInstances?: number,
): void {
  // An autoscaled deployment must fit at its largest.
  if (maxInstances !== undefined && maxInstances > capacity.max && capacity.max > 0) {
    throw new BerthError(
      'INVALID_SPEC',
      `cannot deploy "${spec.endpointName}/${spec.deploymentName}": scale_settings.max_instances ${maxInstances} is more than target "${target}" can hold, at most ${capacity.max} replica(s) (${capacity.basis}); lower max_instances`,
    );
  }
  if (spec.instanceCount <= capacity.max) return;
  const id = `${spec.endpointName}/${spec.deploymentName}`;
  throw new BerthError(
    'INVALID_SPEC',
    capacity.max === 0
      ? `cannot deploy "${id}": target "${target}" cannot hold even one replica (${capacity.basis}): lower resources.memory or free memory`
      : `cannot deploy "${id}": instance_count ${spec.instanceCount} is more than target "${target}" can hold, at most ${capacity.max} replica(s) (${capacity.basis}); lower instance_count, or use a target that scales out (kubernetes)`,
  );
}
