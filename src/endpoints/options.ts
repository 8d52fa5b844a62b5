/**
 * The gateway's options: what the control plane passes, resolved once with every default filled.
 */
import { BerthError } from '../core/errors.js';

export interface GatewayOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Mirror copies in flight at once; past it copies are dropped. Default 64. */
  maxMirrorInFlight?: number;
  /** Body bytes kept per request for a retry or a mirror copy. Default 1 MiB. */
  replayBufferBytes?: number;
  /** How long close() waits for requests in flight. Default 30000 ms. */
  drainTimeoutMs?: number;
  /**
   * Largest request body the gateway forwards; past it the gateway answers 413 itself, by the
   * Content-Length at once or while the body streams. Default 100 MiB, the scoring server's own.
   */
  maxBodyBytes?: number;
  /** The random source for traffic and mirror choices. Default Math.random. */
  random?: () => number;
  /**
   * How long a request is held while a deployment scaled to zero starts a replica; past it the
   * answer is 503 with Retry-After. Default 60000 ms.
   */
  coldStartHoldMs?: number;
}

export interface ResolvedGatewayOptions {
  host: string;
  port: number;
  maxMirrorInFlight: number;
  replayBufferBytes: number;
  drainTimeoutMs: number;
  maxBodyBytes: number;
  random: () => number;
  coldStartHoldMs: number;
}

export function resolveGatewayOptions(options: GatewayOptions = {}): ResolvedGatewayOptions {
  const resolved = {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    maxMirrorInFlight: options.maxMirrorInFlight ?? 64,
    replayBufferBytes: options.replayBufferBytes ?? 1024 * 1024,
    drainTimeoutMs: options.drainTimeoutMs ?? 30_000,
    maxBodyBytes: options.maxBodyBytes ?? 100 * 1024 * 1024,
    random: options.random ?? Math.random,
    coldStartHoldMs: options.coldStartHoldMs ?? 60_000,
  };
  for (const key of [
    'maxMirrorInFlight',
    'replayBufferBytes',
    'drainTimeoutMs',
    'maxBodyBytes',
    'coldStartHoldMs',
  ] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] < 0) {
      throw new BerthError(
        'INVALID_SPEC',
        `gateway options: ${key} must be a non-negative integer, not ${resolved[key]}`,
      );
    }
  }
  return resolved;
}
