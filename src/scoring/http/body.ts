/**
 * Reads a request body into one buffer (of its own when large, so the engine may transfer it to a
 * worker), with a size limit checked before reading when Content-Length says
 * enough and after every chunk otherwise. `leadingPad` bytes are left in front of the body so a
 * binary request's tensor bytes, which start after its JSON header, land 8-byte aligned and can
 * be viewed in place.
 */
import type { IncomingMessage } from 'node:http';
import { BerthError } from '../../core/errors.js';
import { abortReason, type CancelSignal } from '../cancel.js';
import type { BodyBufferPool } from './body-pool.js';

export function tooLarge(limit: number): BerthError {
  return new BerthError('PAYLOAD_TOO_LARGE', `the request body is larger than the limit of ${limit} bytes`);
}

/** Pad so that `offset` bytes into the body fall on an 8-byte boundary. */
export function padFor(offset: number | undefined): number {
  return offset === undefined ? 0 : (8 - (offset % 8)) % 8;
}

/**
 * Bodies up to this size come from node's shared buffer pool: they are decoded on the main thread
 * and never transferred (the engine copies a view that does not span its whole ArrayBuffer), and a
 * pooled slice spares each small request an ArrayBuffer of its own, which costs an allocation and
 * the garbage collector's sweep of its backing store.
 */
const POOLED_BODY_BYTES = 4096;

/**
 * A buffer for a body of `length` bytes after `leadingPad` bytes. Larger ones get an ArrayBuffer of
 * their own, starting at offset 0 (transferable), and not zero-filled: every byte is written from
 * the socket before the body is used, and the length is checked.
 */
function allocateBody(length: number, leadingPad: number, pool: BodyBufferPool | undefined): Buffer {
  if (leadingPad === 0 && length <= POOLED_BODY_BYTES) return Buffer.allocUnsafe(length);
  if (pool !== undefined) return Buffer.from(pool.acquire(length + leadingPad), leadingPad, length);
  const whole = Buffer.allocUnsafeSlow(length + leadingPad);
  return whole.subarray(leadingPad);
}

export function readBody(
  req: IncomingMessage,
  limit: number,
  leadingPad: number,
  signal: CancelSignal,
  /** Where a large body's memory comes from; the caller gives it back (see body-pool.ts). */
  pool?: BodyBufferPool,
): Promise<Buffer> {
  const declaredText = req.headers['content-length'];
  const declared = declaredText === undefined ? undefined : Number(declaredText);
  if (declared !== undefined && declared > limit) return Promise.reject(tooLarge(limit));
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<Buffer>((resolve, reject) => {
    let target = declared === undefined ? undefined : allocateBody(declared, leadingPad, pool);
    const chunks: Buffer[] = [];
    let received = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      signal.removeEventListener('abort', onAbort);
    };
    const fail = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      if (received + chunk.length > limit) return fail(tooLarge(limit));
      if (target !== undefined) {
        if (received + chunk.length > target.length) {
          return fail(new BerthError('BAD_INPUT', 'the body is longer than its Content-Length'));
        }
        chunk.copy(target, received);
      } else {
        chunks.push(chunk);
      }
      received += chunk.length;
    };
    const onEnd = (): void => {
      cleanup();
      if (target === undefined) {
        target = allocateBody(received, leadingPad, pool);
        let offset = 0;
        for (const chunk of chunks) {
          chunk.copy(target, offset);
          offset += chunk.length;
        }
      } else if (received !== target.length) {
        reject(new BerthError('BAD_INPUT', `the body ended after ${received} of ${target.length} bytes`));
        return;
      }
      resolve(target);
    };
    const onError = (error: Error): void =>
      fail(new BerthError('BAD_INPUT', `reading the body failed: ${error.message}`));
    const onAbort = (): void => fail(abortReason(signal));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export { parseJsonText } from '../protocols/json-text.js';
