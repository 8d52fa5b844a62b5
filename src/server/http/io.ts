/** Reading JSON bodies (size-capped, zod-checked) and writing JSON answers and errors. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { BerthError, serializeError, toBerthError } from '../../core/errors.js';

const maxBodyBytes = 8 * 1024 * 1024;

export async function readJson<S extends z.ZodType>(
  request: IncomingMessage,
  schema: S,
): Promise<z.output<S>> {
  // A declared length over the cap is refused before a byte is read, not after 8 MB have arrived.
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > maxBodyBytes)
    throw new BerthError(
      'PAYLOAD_TOO_LARGE',
      `request body of ${declared} bytes is over ${maxBodyBytes} bytes`,
    );
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes)
      throw new BerthError('PAYLOAD_TOO_LARGE', `request body over ${maxBodyBytes} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let value: unknown;
  try {
    value = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new BerthError('BAD_INPUT', 'the request body is not valid JSON');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`,
    );
    throw new BerthError('BAD_INPUT', `invalid request body: ${issues.join('; ')}`);
  }
  return parsed.data;
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

export function sendError(response: ServerResponse, error: unknown): void {
  const berth = toBerthError(error);
  if (response.headersSent) {
    response.destroy(berth);
    return;
  }
  // The rest of a refused body is not read: the connection closes once the answer is sent.
  if (berth.code === 'PAYLOAD_TOO_LARGE') response.setHeader('connection', 'close');
  sendJson(response, berth.status, { error: serializeError(berth) });
}
