/**
 * What a run keeps in its folder, as zod schemas: `run.json` (what was asked, written once) and
 * `status.json` (where it stands, rewritten whole at each change). Both are read back through
 * these schemas, because another process (the runner, a worker) wrote them.
 */
import { z } from 'zod';

/** Azure ML's job states, the subset a berth run passes through. */
export const runStates = ['Queued', 'Preparing', 'Running', 'Completed', 'Failed', 'Canceled'] as const;
export type RunState = (typeof runStates)[number];
export const terminalStates: readonly RunState[] = ['Completed', 'Failed', 'Canceled'];

const jobInput = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('path'), type: z.enum(['uri_folder', 'uri_file']), path: z.string() }),
  z.object({ kind: z.literal('value'), value: z.string() }),
]);

export const runRecordSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  definition: z.object({
    displayName: z.string(),
    experimentName: z.string(),
    description: z.string(),
    tags: z.record(z.string(), z.string()),
    command: z.string(),
    codeDir: z.string().optional(),
    inputs: z.record(z.string(), jobInput),
    outputs: z.array(z.string()),
    environmentVariables: z.record(z.string(), z.string()),
    compute: z.string(),
    instanceCount: z.number().int(),
    resources: z
      .object({
        cpu: z.number().optional(),
        memoryBytes: z.number().optional(),
        shmBytes: z.number().optional(),
      })
      .default({}),
    timeoutSeconds: z.number().int().optional(),
    maxRetries: z.number().int().default(2),
    python: z
      .object({
        requirements: z.array(z.object({ name: z.string(), specifier: z.string(), where: z.string() })),
      })
      .optional(),
  }),
  /** The target kind the run was sent to. */
  targetKind: z.string(),
  code: z
    .object({
      sha256: z.string(),
      size: z.number(),
      files: z.number().int(),
      git: z.object({ commit: z.string(), dirty: z.boolean(), branch: z.string().optional() }).optional(),
    })
    .optional(),
});
export type RunRecord = z.output<typeof runRecordSchema>;

export const attemptSchema = z.object({
  attempt: z.number().int(),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  /** Where it ran: `local (pid 123)`, a worker's name. */
  where: z.string(),
  exitCode: z.number().int().optional(),
  reason: z.string().optional(),
});
export type Attempt = z.output<typeof attemptSchema>;

export const runStatusSchema = z.object({
  state: z.enum(runStates),
  /** Why the state is not Completed (or what it waits on); undefined when there is nothing to say. */
  reason: z.string().optional(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  /** The command's exit code (the first non-zero one over the ranks). */
  exitCode: z.number().int().optional(),
  /** The command after `${{…}}` substitution, as run. */
  command: z.string().optional(),
  /** The runner process, which a cancel signals. */
  runnerPid: z.number().int().optional(),
  /** One process group per rank. */
  processGroups: z.array(z.number().int()).default([]),
  attempts: z.array(attemptSchema).default([]),
  updatedAt: z.string(),
});
export type RunStatus = z.output<typeof runStatusSchema>;

/** One line of `metrics.jsonl`: what `run.log` and the Python module append. */
export const metricLineSchema = z.object({
  key: z.string().min(1),
  value: z.number(),
  step: z.number().int().optional(),
  timestamp: z.number().optional(),
  rank: z.number().int().optional(),
});
export type MetricLine = z.output<typeof metricLineSchema>;
