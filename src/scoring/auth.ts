/**
 * API keys for the scoring server: a primary and a secondary, both valid at once so either can be
 * replaced while the other keeps serving. Keys are kept as sha256 digests and an offered key is
 * compared with every one of them in constant time, so neither timing nor length tells anything.
 *
 * A replica started by a target also holds a replica token (BERTH_REPLICA_TOKEN): a secret only it
 * and the endpoint gateway share. With one set, every route but health answers 401 unless the
 * request carries it in `x-berth-replica-token`, so another local process cannot score on the
 * replica's loopback port behind the gateway's back (the gateway checks the endpoint's keys).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { REPLICA_TOKEN_ENV, REPLICA_TOKEN_HEADER } from '../core/replica-token.js';

export interface ApiKeys {
  primaryKey: string;
  secondaryKey: string | undefined;
}

export { REPLICA_TOKEN_ENV, REPLICA_TOKEN_HEADER };

export interface Auth {
  /** False when no key is set: every request is let in. */
  readonly enabled: boolean;
  /** True when the `Authorization` header value carries a valid key (or auth is off). */
  check(authorization: string | undefined): boolean;
  /** The keys as plain strings, for front ends that keep their own check (gRPC). */
  keys(): string[];
  /** Replaces the keys at once (rotation); undefined turns auth off. */
  setKeys(keys: ApiKeys | undefined): void;
  /** True when the replica-token header carries the replica token (or none is set). */
  checkReplica(header: string | string[] | undefined): boolean;
}

/** The replica token from the environment; undefined when unset or empty. */
export function replicaTokenFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const token = env[REPLICA_TOKEN_ENV];
  return token === undefined || token === '' ? undefined : token;
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** The key in `Bearer <key>` (the scheme matched case-insensitively), or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization.length < 8) return undefined;
  if (authorization.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = authorization.slice(7).trim();
  return token === '' ? undefined : token;
}

/** @param replicaToken the replica token every non-health request must carry; undefined: none. */
export function createAuth(initial: ApiKeys | undefined, replicaToken?: string): Auth {
  const replicaDigest = replicaToken === undefined ? undefined : digest(replicaToken);
  let plain: string[] = [];
  let digests: Buffer[] = [];
  const set = (keys: ApiKeys | undefined): void => {
    plain =
      keys === undefined
        ? []
        : [keys.primaryKey, ...(keys.secondaryKey === undefined ? [] : [keys.secondaryKey])];
    digests = plain.map(digest);
  };
  set(initial);
  return {
    get enabled() {
      return digests.length > 0;
    },
    check(authorization) {
      if (digests.length === 0) return true;
      const token = bearerToken(authorization);
      if (token === undefined) return false;
      const offered = digest(token);
      // Compare with every key, so the time taken does not tell which one matched.
      let found = false;
      for (const known of digests) found = timingSafeEqual(known, offered) || found;
      return found;
    },
    keys: () => [...plain],
    setKeys: set,
    checkReplica(header) {
      if (replicaDigest === undefined) return true;
      if (typeof header !== 'string') return false;
      return timingSafeEqual(replicaDigest, digest(header));
    },
  };
}
