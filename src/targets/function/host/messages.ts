/**
 * What the local function host and an instance process say to each other over the IPC channel:
 * a typed union, each answer matched to its invocation by id. Bodies travel base64-encoded.
 */
import { z } from 'zod';

export interface HttpInvocation {
  method: string;
  /** Path and query. */
  path: string;
  headers: Record<string, string>;
  bodyBase64: string;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  bodyBase64: string;
}

export type HostMessage = { type: 'invoke'; id: number; request: HttpInvocation };

const answerSchema = z.strictObject({
  status: z.number().int().min(100).max(599),
  headers: z.record(z.string(), z.string()),
  bodyBase64: z.string(),
});

export const instanceMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('loaded') }),
  z.strictObject({ type: z.literal('answer'), id: z.number().int(), answer: answerSchema }),
  z.strictObject({ type: z.literal('failed'), id: z.number().int(), message: z.string() }),
]);

export type InstanceMessage = z.infer<typeof instanceMessageSchema>;
