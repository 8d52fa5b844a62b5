/**
 * The messages between the ssh batch engine (here) and its worker processes on the machine, a typed
 * union on `type`. They travel over the worker's SSH session: to the worker as JSON lines on its
 * stdin, back as JSON lines on its stdout that start with `messageMark`, so the user's own console
 * output on the same stream stays apart from them.
 */
import { z } from 'zod';
import type { BatchProgramSpec, MiniBatchTask } from '../../batch/engine.js';
import type { WorkerReply } from '../../batch/runtime/worker-session.js';

/** The first character of every message line from a worker (ASCII record separator). */
export const messageMark = '\u001e';

export type ToSshWorker =
  | {
      type: 'init';
      jobId: string;
      worker: string;
      program: BatchProgramSpec;
      /** Set before the program loads: the deployment's variables, thread and GPU settings. */
      environment: Record<string, string>;
      /** Where the model files are on the machine (the shipped cache entry). */
      modelDir: string | undefined;
      modelFile: string | undefined;
    }
  | { type: 'run'; task: MiniBatchTask };

export type FromSshWorker = { type: 'hello'; pid: number } | WorkerReply;

const errorSchema = z.object({ code: z.string(), message: z.string() });

const outcomeSchema = z.object({
  index: z.number().int(),
  attempt: z.number().int(),
  worker: z.string(),
  durationMs: z.number(),
  status: z.enum(['succeeded', 'failed']),
  rows: z.array(z.object({ key: z.string(), value: z.unknown() })),
  failedItems: z.array(z.object({ key: z.string(), error: z.string() })),
  error: errorSchema.extend({ phase: z.enum(['init', 'run']).optional() }).optional(),
});

const fromWorkerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), pid: z.number().int().positive() }),
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('init-failed'), error: errorSchema }),
  z.object({ type: z.literal('outcome'), outcome: outcomeSchema }),
]);

/** A worker's message line (without its mark) read back, or undefined when it is not one. */
export function parseWorkerMessage(text: string): FromSshWorker | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = fromWorkerSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const message = parsed.data;
  if (message.type !== 'outcome') return message;
  const { rows, error, ...rest } = message.outcome;
  return {
    type: 'outcome',
    outcome: { ...rest, rows: rows.map((row) => ({ key: row.key, value: row.value })), error },
  };
}
