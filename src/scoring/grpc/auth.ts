/**
 * API-key check for gRPC calls: metadata `authorization: Bearer <key>`, checked by the server's one
 * `Auth` (scoring/auth.ts), so the HTTP and gRPC front ends accept the same keys and a rotation
 * reaches both at once.
 */
import type { Metadata } from '@grpc/grpc-js';
import { BerthError } from '../../core/errors.js';
import { bearerToken, type Auth } from '../auth.js';

export type KeyCheck = (metadata: Metadata) => void;

export function createKeyCheck(auth: Auth | undefined): KeyCheck {
  return (metadata) => {
    if (auth === undefined || !auth.enabled) return;
    const [header] = metadata.get('authorization');
    const value = typeof header === 'string' ? header.trim() : undefined;
    if (bearerToken(value) === undefined) {
      throw new BerthError('UNAUTHORIZED', 'missing API key: send metadata "authorization: Bearer <key>"');
    }
    if (!auth.check(value)) throw new BerthError('UNAUTHORIZED', 'invalid API key');
  };
}
