/**
 * Endpoint keys: two at once (primary and secondary) so one can be rotated while the other serves.
 * The comparison is constant-time: both sides are hashed to the same length and compared with
 * timingSafeEqual, and both keys are always checked.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EndpointKeys } from './types.js';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The key from `Authorization: Bearer <key>`, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export function keyMatches(given: string | undefined, keys: EndpointKeys): boolean {
  const presented = digest(given ?? '');
  const primary = timingSafeEqual(presented, digest(keys.primary));
  const secondary = keys.secondary !== undefined && timingSafeEqual(presented, digest(keys.secondary));
  return given !== undefined && given !== '' && (primary || secondary);
}

/** A new random key: 32 bytes, base64url. */
export function generateKey(): string {
  return randomBytes(32).toString('base64url');
}
