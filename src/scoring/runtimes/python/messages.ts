/**
 * The messages of berth's Python worker protocol (frames.ts carries them). What the worker sends
 * is checked here with zod: a process that speaks anything else is treated as broken.
 */
import { z } from 'zod';

/** A request to the script: `run` takes the raw body as a string; `raw` (@rawhttp) the whole request. */
export type ToPython =
  | { type: 'run'; id: number; requestId: string | null; body: string }
  | {
      type: 'raw';
      id: number;
      requestId: string | null;
      /** base64 */
      body: string;
      headers: Record<string, string>;
      method: string;
      path: string;
    }
  | { type: 'batch'; id: number; requestId: string | null; miniBatch: unknown }
  | { type: 'shutdown' };

const jsonSchemaObject = z.record(z.string(), z.unknown()).nullable();

export const fromPythonSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ready'),
    python: z.string(),
    schemas: z.object({
      raw: z.boolean(),
      decorated: z.boolean(),
      input: jsonSchemaObject,
      output: jsonSchemaObject,
    }),
  }),
  z.object({ type: z.literal('init-failed'), message: z.string() }),
  z.object({
    type: z.literal('result'),
    id: z.number().int(),
    status: z.number().int().min(100).max(599),
    contentType: z.string(),
    body: z.string(),
    encoding: z.enum(['utf8', 'base64']),
    execNs: z.number().nonnegative(),
  }),
  z.object({
    type: z.literal('error'),
    id: z.number().int(),
    code: z.enum(['BAD_INPUT', 'RUN_FAILED']),
    message: z.string(),
  }),
  z.object({
    type: z.literal('log'),
    level: z.enum(['info', 'warn', 'error']),
    message: z.string(),
    requestId: z.string().nullable(),
  }),
]);

export type FromPython = z.infer<typeof fromPythonSchema>;
export type PythonReady = Extract<FromPython, { type: 'ready' }>;
export type PythonResult = Extract<FromPython, { type: 'result' }>;
