/**
 * What crosses Redis: a MiniBatchTask as BullMQ job data, a MiniBatchOutcome as its return value,
 * and the worker's "started" note as job progress. Validated with zod on arrival, because the
 * other side may be another berth version on another machine.
 */
import { z } from 'zod';
import { BerthError } from '../../core/errors.js';
import type { MiniBatchOutcome, MiniBatchTask } from '../engine.js';

const planSchema = z.discriminatedUnion('kind', [
  z.object({ index: z.number().int().nonnegative(), kind: z.literal('files'), paths: z.array(z.string()) }),
  z.object({
    index: z.number().int().nonnegative(),
    kind: z.literal('rows'),
    source: z.string(),
    format: z.enum(['csv', 'jsonl', 'parquet']),
    firstRow: z.number().int().nonnegative(),
    rowCount: z.number().int().nonnegative(),
    byteRange: z.object({ start: z.number().int(), end: z.number().int() }).optional(),
  }),
]);

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const taskSchema = z.object({
  jobId: z.string().min(1),
  attempt: z.number().int().nonnegative(),
  plan: planSchema,
  program: z.object({
    scoringScript: z.string().optional(),
    model: z
      .object({
        name: z.string(),
        version: z.number().int(),
        sha256,
        kind: z.enum(['file', 'folder']),
        fileName: z.string().min(1),
        modelFile: z.string().optional(),
        local: z.object({ modelDir: z.string(), modelFile: z.string().optional() }).optional(),
      })
      .optional(),
    environmentVariables: z.record(z.string(), z.string()),
    loggingLevel: z.enum(['debug', 'info', 'warning', 'error']),
  }),
  timeoutMs: z.number().int().positive(),
});

export const outcomeSchema = z.object({
  index: z.number().int(),
  attempt: z.number().int(),
  worker: z.string(),
  durationMs: z.number(),
  status: z.enum(['succeeded', 'failed']),
  rows: z.array(z.object({ key: z.string(), value: z.unknown() })),
  failedItems: z.array(z.object({ key: z.string(), error: z.string() })),
  error: z
    .object({ code: z.string(), message: z.string(), phase: z.enum(['init', 'run']).optional() })
    .optional(),
});

/** Job progress a worker reports when it takes a mini-batch: who runs it (tests kill by pid). */
export const startedSchema = z.object({ worker: z.string(), pid: z.number().int(), host: z.string() });
export type StartedNote = z.infer<typeof startedSchema>;

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new BerthError('BAD_INPUT', `invalid ${what}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** JSON drops `undefined` fields; the contract's types want them present, so they are put back. */
export function parseTask(value: unknown): MiniBatchTask {
  const task = parse(taskSchema, value, 'mini-batch task');
  const model = task.program.model;
  return {
    ...task,
    program: {
      ...task.program,
      scoringScript: task.program.scoringScript,
      model:
        model === undefined
          ? undefined
          : {
              ...model,
              modelFile: model.modelFile,
              local: model.local && { modelDir: model.local.modelDir, modelFile: model.local.modelFile },
            },
    },
  };
}

export function parseOutcome(value: unknown): MiniBatchOutcome {
  const outcome = parse(outcomeSchema, value, 'mini-batch outcome');
  return { ...outcome, error: outcome.error };
}

export function parseStarted(value: unknown): StartedNote | undefined {
  const parsed = startedSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** The outcome of an attempt that never produced one of its own (worker died too often, bug). */
export function failedOutcome(
  task: Pick<MiniBatchTask, 'attempt' | 'plan'>,
  worker: string,
  durationMs: number,
  error: { code: string; message: string; phase?: 'init' | 'run' },
): MiniBatchOutcome {
  return {
    index: task.plan.index,
    attempt: task.attempt,
    worker,
    durationMs,
    status: 'failed',
    rows: [],
    failedItems: [],
    error,
  };
}
