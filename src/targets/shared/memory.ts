/** The line a replica-set target prints at deploy time: the memory each replica is held to, and why. */
import { formatBytes } from '../capabilities.js';
import type { ResolvedDeployment } from '../target.js';
import { replicaMemory } from './replica-limits.js';

export function describeMemoryLimit(spec: ResolvedDeployment): string {
  const memory = replicaMemory(spec);
  return `each replica is held to ${formatBytes(memory.bytes)} of memory (${memory.source})`;
}
