/**
 * What a job keeps on disk under `<workspace>/jobs/<jobId>/`, and the zod schemas its files are
 * read back with (they are a boundary: another berth version, or a crash mid-write of an older
 * one, may have left them):
 *
 * ```
 * job.json            the resolved deployment, the inputs and the plan; written once, never changed
 * status.json         state, counts, workers, first error; rewritten (temp + rename) as the job runs
 * results/<i>.json    the rows of mini-batch i, written once by its first successful attempt
 * report.jsonl        one line per attempt: outcome, worker, duration, error
 * logs/<worker>.log   each worker's output; logs/job.log the coordinator's own
 * cancel              present once cancel was asked for
 * ```
 */
import { z } from 'zod';
import type { BatchProgramSpec } from '../engine.js';
import type { BatchCompute, ResolvedBatchDeployment } from '../definition/resolve.js';
import type { JobPlan } from '../plan.js';

export interface JobRecord {
  schemaVersion: 1;
  id: string;
  createdAt: string;
  deployment: ResolvedBatchDeployment;
  /** The deployment file the job came from, when it came from one. */
  deploymentFile: string | undefined;
  inputs: string[];
  outputDir: string;
  gpus: string[] | undefined;
  program: BatchProgramSpec;
  plan: JobPlan;
}

/**
 * A job.json as this version reads it. Jobs written before targets were named kept their compute
 * as `{ kind: 'embedded' | 'cluster', target: '<redis address>' | '' }`; such a job still shows
 * and resumes where it ran (the local machine, or that Redis with the default queue prefix).
 */
export function upgradeRecord(record: JobRecord): JobRecord {
  const compute = record.deployment.compute as Partial<BatchCompute> & { kind?: string };
  if (compute.engine !== undefined) return record;
  const redis = typeof compute.target === 'string' ? compute.target : '';
  const upgraded: BatchCompute =
    compute.kind === 'cluster'
      ? { target: redis, engine: 'cluster', config: { kind: 'cluster', name: 'cluster', redis } }
      : { target: 'local', engine: 'embedded', config: { kind: 'local', name: 'local' } };
  return { ...record, deployment: { ...record.deployment, compute: upgraded } };
}

export const jobStates = ['running', 'completed', 'failed', 'canceled'] as const;
export type StoredJobState = (typeof jobStates)[number];

const errorSchema = z.object({
  miniBatch: z.number().optional(),
  attempt: z.number().optional(),
  worker: z.string().optional(),
  key: z.string().optional(),
  code: z.string(),
  message: z.string(),
});

export const statusSchema = z.object({
  state: z.enum(jobStates),
  coordinator: z.object({ pid: z.number(), host: z.string() }).optional(),
  startedAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().optional(),
  counts: z.object({
    miniBatches: z.number(),
    succeeded: z.number(),
    failed: z.number(),
    retried: z.number(),
    running: z.number(),
    items: z.number(),
    itemsSucceeded: z.number(),
    itemsFailed: z.number(),
  }),
  itemsPerSecond: z.number(),
  workers: z.record(
    z.string(),
    z.object({
      pid: z.number().optional(),
      host: z.string().optional(),
      miniBatch: z.number().optional(),
      since: z.string(),
    }),
  ),
  firstError: errorSchema.optional(),
  reason: z.string().optional(),
  output: z.object({ predictions: z.string().optional(), report: z.string() }).optional(),
});

export type StoredStatus = z.infer<typeof statusSchema>;
export type JobError = z.infer<typeof errorSchema>;

export const resultFileSchema = z.object({
  index: z.number(),
  attempt: z.number(),
  worker: z.string(),
  durationMs: z.number(),
  rows: z.array(z.object({ key: z.string(), value: z.unknown() })),
  failedItems: z.array(z.object({ key: z.string(), error: z.string() })),
});

export type ResultFile = z.infer<typeof resultFileSchema>;

export const reportLineSchema = z.object({
  index: z.number(),
  attempt: z.number(),
  worker: z.string(),
  status: z.enum(['succeeded', 'failed']),
  durationMs: z.number(),
  items: z.number(),
  failedItems: z.number(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  /** True when this attempt's result was the one kept (false for a late duplicate). */
  kept: z.boolean().optional(),
  at: z.string(),
});

export type ReportLine = z.infer<typeof reportLineSchema>;
