/**
 * The scoring server's whole-process memory limit: where it comes from (the `memoryLimitBytes`
 * option, else the BERTH_MEMORY_LIMIT_BYTES variable, else a default from this machine's memory),
 * and the sentence printed at start that says which, so the limit is never unknown.
 */
import { totalmem } from 'node:os';
import { BerthError } from '../core/errors.js';
import { parseMemory } from '../core/specs/quantities.js';

export const MEMORY_LIMIT_ENV = 'BERTH_MEMORY_LIMIT_BYTES';

const GiB = 1024 ** 3;

/** A cgroup (container) limit, when one is set below the machine's memory; undefined otherwise. */
function cgroupLimit(): number | undefined {
  // Node answers 0 or a huge number (2^64) when no cgroup limit is set.
  const constrained = process.constrainedMemory?.() ?? 0;
  return constrained > 0 && constrained < totalmem() ? constrained : undefined;
}

/**
 * In a container with a memory limit: 90% of it, so the server ends the worker at fault before the
 * kernel's OOM killer ends the whole process. On a machine: half of its memory, which leaves the
 * other half to the operating system, the control plane and another replica (a target that runs
 * several replicas on one machine passes each its share).
 */
export function defaultMemoryLimit(): { bytes: number; reason: string } {
  const cgroup = cgroupLimit();
  if (cgroup !== undefined) {
    return {
      bytes: Math.floor(cgroup * 0.9),
      reason: `90% of the ${formatBytes(cgroup)} this container may use`,
    };
  }
  const total = totalmem();
  return { bytes: Math.floor(total / 2), reason: `half of this machine's ${formatBytes(total)}` };
}

/** BERTH_MEMORY_LIMIT_BYTES: bytes, or a size such as "512Mi" or "2G"; undefined when unset. */
export function memoryLimitFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env[MEMORY_LIMIT_ENV];
  if (text === undefined || text.trim() === '') return undefined;
  const bytes = parseMemory(text);
  if (bytes === undefined) {
    throw new BerthError(
      'INVALID_SPEC',
      `${MEMORY_LIMIT_ENV} must be a size in bytes (or with a unit, e.g. "512Mi", "2G"), got ${JSON.stringify(text)}`,
    );
  }
  return bytes;
}

/** "1.5 GiB" / "300.0 MiB". */
export function formatBytes(bytes: number): string {
  return bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** The start-up sentence: the limit and where it came from (`option`: how a user sets it). */
export function describeMemoryLimit(
  bytes: number,
  env: NodeJS.ProcessEnv = process.env,
  option = 'memoryLimitBytes',
): string {
  const fallback = defaultMemoryLimit();
  let source: string;
  if (bytes === safeFromEnv(env)) source = `from ${MEMORY_LIMIT_ENV}`;
  else if (bytes === fallback.bytes) source = `default: ${fallback.reason}; set ${option} to change it`;
  else source = `set by ${option}`;
  return `memory limit ${formatBytes(bytes)} (${source})`;
}

function safeFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  try {
    return memoryLimitFromEnv(env);
  } catch {
    return undefined;
  }
}
