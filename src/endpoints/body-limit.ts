/**
 * The gateway's own body limit. A replica refuses a body over its limit too, but by then the
 * gateway may have streamed megabytes to it and lost the replica's 413 to a broken pipe; so the
 * gateway refuses a declared Content-Length over the limit before it forwards anything, and a body
 * that grows past the limit while it streams (chunked, or longer than declared) as soon as it does.
 */
import type { IncomingMessage } from 'node:http';
import { BerthError } from '../core/errors.js';

function tooLarge(limit: number, what: string): BerthError {
  return new BerthError(
    'PAYLOAD_TOO_LARGE',
    `the request body ${what} is larger than the gateway's limit of ${limit} bytes`,
  );
}

/** Throws PAYLOAD_TOO_LARGE when the request declares a Content-Length over `limit`. */
export function checkDeclaredLength(req: IncomingMessage, limit: number): void {
  const declared = req.headers['content-length'];
  if (declared === undefined) return;
  const length = Number(declared);
  if (Number.isFinite(length) && length > limit) throw tooLarge(limit, `(Content-Length ${declared})`);
}

/**
 * Counts the body's bytes as they arrive and calls `onOver` once, with the error to answer, when
 * they pass `limit`. The listener is added before the proxy's, so the refusal comes first.
 */
export function watchBodySize(
  req: IncomingMessage,
  limit: number,
  onOver: (error: BerthError) => void,
): void {
  let received = 0;
  const count = (chunk: Buffer): void => {
    received += chunk.length;
    if (received > limit) {
      req.off('data', count);
      onOver(tooLarge(limit, `(${received} bytes so far)`));
    }
  };
  req.on('data', count);
}
