/**
 * Kubernetes-style quantities as Azure ML's `resources` section writes them: CPU as cores or
 * millicores (`0.5`, `"500m"`), memory as bytes with a binary or decimal suffix (`"2Gi"`, `"512M"`).
 */
import { z } from 'zod';

const memoryUnits: Record<string, number> = {
  '': 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
};

/** Cores; undefined when the text is not a CPU quantity. */
export function parseCpu(value: string | number): number | undefined {
  if (typeof value === 'number') return value > 0 ? value : undefined;
  const match = /^([0-9]+(?:\.[0-9]+)?)(m?)$/.exec(value.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  const cores = match[2] === 'm' ? amount / 1000 : amount;
  return cores > 0 ? cores : undefined;
}

/** Bytes; undefined when the text is not a memory quantity. */
export function parseMemory(value: string | number): number | undefined {
  if (typeof value === 'number') return value > 0 ? Math.round(value) : undefined;
  const match = /^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)$/.exec(value.trim());
  const unit = match ? memoryUnits[match[2] ?? ''] : undefined;
  if (!match || unit === undefined) return undefined;
  const bytes = Math.round(Number(match[1]) * unit);
  return bytes > 0 ? bytes : undefined;
}

export const cpuQuantitySchema = z
  .union([z.string(), z.number()], { error: 'expected cores or millicores, e.g. 0.5 or "500m"' })
  .refine((value) => parseCpu(value) !== undefined, {
    error: 'expected cores or millicores, e.g. 0.5 or "500m"',
  });

export const memoryQuantitySchema = z
  .union([z.string(), z.number()], { error: 'expected a memory size, e.g. "512Mi" or "2Gi"' })
  .refine((value) => parseMemory(value) !== undefined, {
    error: 'expected a memory size, e.g. "512Mi" or "2Gi"',
  });

export const gpuCountSchema = z
  .union([z.number(), z.string()], { error: 'expected a whole number of GPUs' })
  .transform((value) => Number(value))
  .pipe(z.number({ error: 'expected a whole number of GPUs' }).int().min(0));
