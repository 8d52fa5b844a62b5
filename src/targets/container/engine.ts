/**
 * The Docker Engine client: one dockerode instance per target, built from a `DOCKER_HOST`-style
 * address, and the translation of its failures into BerthErrors: an engine that does not answer
 * says so, with the address, instead of a bare `connect ENOENT`.
 */
import Docker from 'dockerode';
import { BerthError, hasErrorCode } from '../../core/errors.js';

export type Engine = Docker;

export function connectEngine(dockerHost: string, timeoutMs: number): Engine {
  if (dockerHost.startsWith('unix://')) {
    return new Docker({ socketPath: dockerHost.slice('unix://'.length), timeout: timeoutMs });
  }
  const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return new Docker({
    protocol: 'http',
    host: url.hostname,
    port: url.port === '' ? 2375 : Number(url.port),
    timeout: timeoutMs,
  });
}

const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EACCES',
]);

function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && unreachableCodes.has(code)) return true;
  const message = error instanceof Error ? error.message : '';
  return /timeout|socket hang up|ECONNRESET/i.test(message);
}

export function unreachable(dockerHost: string, error: unknown): BerthError {
  const why = error instanceof Error ? error.message : String(error);
  return new BerthError('NOT_READY', `Docker Engine at ${dockerHost} is not reachable: ${why}`, {
    cause: error,
  });
}

/** What the engine said, as a BerthError: its own message, never a stack of HTTP details. */
export function engineError(dockerHost: string, what: string, error: unknown): BerthError {
  if (hasErrorCode(error)) return error;
  if (isUnreachable(error)) return unreachable(dockerHost, error);
  const status = (error as { statusCode?: unknown }).statusCode;
  const json = (error as { json?: { message?: unknown } }).json;
  const reason =
    typeof json?.message === 'string' ? json.message : error instanceof Error ? error.message : String(error);
  const code = status === 404 ? 'NOT_FOUND' : status === 409 ? 'CONFLICT' : 'RUN_FAILED';
  return new BerthError(code, `${what}: ${reason}`, { cause: error });
}

/** Resolves once the engine answers; NOT_READY with the address when it does not. */
export async function pingEngine(engine: Engine, dockerHost: string): Promise<void> {
  try {
    await engine.ping();
  } catch (error) {
    throw unreachable(dockerHost, error);
  }
}

/** What the engine runs on, as `docker info` reports it: CPUs and memory. */
export interface EngineResources {
  cpus: number;
  memoryBytes: number;
}

export async function engineResources(engine: Engine, dockerHost: string): Promise<EngineResources> {
  try {
    const info = (await engine.info()) as { NCPU?: unknown; MemTotal?: unknown };
    const cpus = typeof info.NCPU === 'number' && info.NCPU > 0 ? info.NCPU : 1;
    const memoryBytes = typeof info.MemTotal === 'number' && info.MemTotal > 0 ? info.MemTotal : 0;
    return { cpus, memoryBytes };
  } catch (error) {
    throw engineError(dockerHost, "cannot read the engine's CPUs and memory (docker info)", error);
  }
}
