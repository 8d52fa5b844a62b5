/**
 * What `berth profile` measured for one model version, kept with the version so that
 * `berth target recommend --model` sizes from measurements instead of the file size. A summary of
 * the full result (profile.json keeps every step): the numbers a sizing decision needs, and where
 * and when they were measured. Parsed with the schema whenever it is read back.
 */
import { z } from 'zod';

const latencySchema = z.object({ p50: z.number(), p99: z.number() });

export const modelProfileSchema = z.object({
  /** ISO-8601 UTC. */
  measuredAt: z.string(),
  /** Where the trial replica ran: `local` (this machine) or a container target's name. */
  target: z.string(),
  /** Cores of the machine the replica ran on: a rate measured on 2 cores is not one for 32. */
  machineCores: z.number().int().positive(),
  slo: z.object({ percentile: z.string(), ms: z.number() }).nullable(),
  peakRssBytes: z.number().nonnegative().nullable(),
  /** Highest requests/s of one replica within the SLO without errors; null when no step was. */
  maxSustainedRps: z.number().nonnegative().nullable(),
  recommendation: z.object({
    memoryBytes: z.number().nonnegative().nullable(),
    cpu: z.number().nonnegative().nullable(),
    maxConcurrentRequestsPerInstance: z.number().int().positive().nullable(),
    /** The best step's max_batch_size (1: batching off); profiles saved before batching was tried have none. */
    maxBatchSize: z.number().int().positive().nullable().default(null),
  }),
  /** One line per load step, in the order run. */
  steps: z.array(
    z.object({
      /** Default 1: profiles saved before batching was tried ran with batching off. */
      maxBatchSize: z.number().int().positive().default(1),
      concurrency: z.number().int().positive(),
      rps: z.number().nonnegative(),
      latencyMs: latencySchema.nullable(),
      errors: z.number().int().nonnegative(),
      withinSlo: z.boolean(),
    }),
  ),
});

export type ModelProfile = z.infer<typeof modelProfileSchema>;
