/**
 * API-key check for gRPC calls: metadata `authorization: Bearer <key>`, compared in constant time
 * (hashing first makes every comparison the same length).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { BerthError } from '../../core/errors.js';

export type KeyCheck = (metadata: Metadata) => void;

export function createKeyCheck(keys: readonly string[] | undefined): KeyCheck {
  if (keys === undefined || keys.length === 0) return () => {};
  const digests = keys.map(digest);
  return (metadata) => {
    const [header] = metadata.get('authorization');
    const match = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (match?.[1] === undefined) {
      throw new BerthError('UNAUTHORIZED', 'missing API key: send metadata "authorization: Bearer <key>"');
    }
    const offered = digest(match[1]);
    // Compare with every key, so the time taken does not tell which one (if any) matched.
    let found = false;
    for (const known of digests) found = timingSafeEqual(known, offered) || found;
    if (!found) throw new BerthError('UNAUTHORIZED', 'invalid API key');
  };
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}
