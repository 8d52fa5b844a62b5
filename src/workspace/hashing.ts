/**
 * Streaming sha256: bytes are hashed while they are copied, so storing or exporting an artifact
 * reads it once. Every file written here is fsynced before the caller renames it into place.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { BerthError } from '../core/errors.js';

export const sha256Pattern = /^[0-9a-f]{64}$/;

/** Checks a sha256 before it becomes part of a path: a bad one could name a file outside the store. */
export function assertSha256(value: string): string {
  if (!sha256Pattern.test(value)) {
    throw new BerthError(
      'BAD_INPUT',
      `invalid sha256 ${JSON.stringify(value)}: expected 64 lowercase hex digits`,
    );
  }
  return value;
}

export interface Hashed {
  sha256: string;
  size: number;
}

/**
 * Writes `source` to a new file at `target` (which must not exist), hashing on the way, and
 * fsyncs it. `onChunk` receives each chunk's length. On failure the partial file is left for the
 * caller to remove: it knows whether the target is a temp file.
 */
export async function writeHashed(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  target: string,
  mode: number,
  onChunk?: (bytes: number) => void,
): Promise<Hashed> {
  const hash = createHash('sha256');
  let size = 0;
  const file = await open(target, 'wx', mode);
  try {
    for await (const chunk of source) {
      hash.update(chunk);
      await file.write(chunk);
      size += chunk.length;
      onChunk?.(chunk.length);
    }
    await file.sync();
  } finally {
    await file.close();
  }
  return { sha256: hash.digest('hex'), size };
}

export async function hashFile(path: string): Promise<Hashed> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

export function hashBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
