/**
 * The gateway's own answers (auth, routing, admission, timeouts, failed replicas): the message in
 * the body the scoring server uses for that route family, and the code in a header.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorCatalogue, type BerthError } from '../core/errors.js';
import type { GatewayRoute } from './router.js';

/** The gateway's own answers: `{"message": …}` (or `{"error": …}` on v2 routes) and the code in a header. */
export function sendError(
  res: ServerResponse,
  req: IncomingMessage,
  family: GatewayRoute['family'],
  error: BerthError,
  status?: number,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const code = status ?? errorCatalogue[error.code].status;
  const key = family === 'v2' ? 'error' : 'message';
  const body = `{"${key}":${JSON.stringify(error.message)}}`;
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader(
    'berth-error-code',
    error.code === 'INTERNAL' && code === 502 ? 'UPSTREAM_FAILED' : error.code,
  );
  if (code === 401) res.setHeader('www-authenticate', 'Bearer');
  if (code === 429 || code === 503) res.setHeader('retry-after', '1');
  res.statusCode = code;
  // A small unread body is drained so the connection stays usable; a large one closes it.
  if (!req.complete) {
    const length = Number(req.headers['content-length'] ?? Infinity);
    if (length > 64 * 1024) res.setHeader('connection', 'close');
    else req.resume();
  }
  res.end(body);
}
