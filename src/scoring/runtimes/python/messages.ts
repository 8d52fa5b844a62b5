/**
 * The messages of berth's Python worker protocol (frames.ts carries them). The worker's control
 * messages are checked here with zod: a process that speaks anything else is treated as broken.
 */
import { z } from 'zod';

/**
 * A request to the script: `run` takes the raw body (its bytes reach Python as they came);
 * `raw` (@rawhttp) the whole request.
 */
export type ToPython =
  | { type: 'run'; id: number; requestId: string | null; body: Buffer | string }
  | {
      type: 'raw';
      id: number;
      requestId: string | null;
      body: Buffer;
      headers: Record<string, string>;
      method: string;
      path: string;
    }
  | { type: 'batch'; id: number; requestId: string | null; miniBatch: unknown }
  /**
   * Several `/score` bodies in one message, one answer each, in order: to run_batch(bodies) for a
   * script that defines it, else (`each`) to run(body) one after the other.
   */
  | {
      type: 'runs';
      id: number;
      /** The call's request ids, joined by commas (what run_batch()'s log lines carry). */
      requestId: string | null;
      bodies: { requestId: string | null; body: Buffer | string }[];
      each: boolean;
    }
  | { type: 'shutdown' };

const jsonSchemaObject = z.record(z.string(), z.unknown()).nullable();

const failureFields = { code: z.enum(['BAD_INPUT', 'RUN_FAILED']), message: z.string() };

export const fromPythonSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ready'),
    python: z.string(),
    /** The script defines run_batch(bodies): requests may be sent to it together. */
    batch: z.boolean().default(false),
    schemas: z.object({
      raw: z.boolean(),
      decorated: z.boolean(),
      input: jsonSchemaObject,
      output: jsonSchemaObject,
    }),
  }),
  z.object({ type: z.literal('init-failed'), message: z.string() }),
  z.object({
    type: z.literal('error'),
    id: z.number().int(),
    ...failureFields,
  }),
  z.object({
    type: z.literal('log'),
    level: z.enum(['info', 'warn', 'error']),
    message: z.string(),
    requestId: z.string().nullable(),
  }),
]);

/** An answer from the script, as bytes: `binary` says they are not text (sent as octets). */
export interface PythonAnswer {
  status: number;
  binary: boolean;
  execNs: number;
  contentType: string;
  body: Buffer;
}

export type PythonFailure = { code: 'BAD_INPUT' | 'RUN_FAILED'; message: string };

/** The control messages (JSON frames); answers arrive as RESULT / RESULTS frames (frames.ts). */
export type FromPython = z.infer<typeof fromPythonSchema>;
export type PythonReady = Extract<FromPython, { type: 'ready' }>;
export type PythonResult = { type: 'result'; id: number } & PythonAnswer;
export type PythonResults = {
  type: 'results';
  id: number;
  execNs: number;
  /** One per body of the `runs` message, in order: an answer, or that body's failure. */
  results: (PythonAnswer | PythonFailure)[];
};
/** What a call is answered with: one result, or one per body of a `runs` call. */
export type PythonReply = PythonResult | PythonResults;
