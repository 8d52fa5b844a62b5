/**
 * The error catalogue: every error berth raises has a stable string code, an HTTP status, a CLI
 * exit code and whether retrying can help. Callers match on `code`, never on `instanceof`, because
 * errors cross threads and processes as plain `{ code, message, cause }` objects.
 */

export const errorCatalogue = {
  BAD_INPUT: { status: 400, exit: 2, retryable: false },
  INVALID_NAME: { status: 400, exit: 2, retryable: false },
  INVALID_SPEC: { status: 400, exit: 2, retryable: false },
  INVALID_MODEL: { status: 400, exit: 2, retryable: false },
  PATH_NOT_FOUND: { status: 400, exit: 2, retryable: false },
  PATH_UNREADABLE: { status: 400, exit: 2, retryable: false },
  PATH_ESCAPES: { status: 400, exit: 2, retryable: false },
  UNAUTHORIZED: { status: 401, exit: 4, retryable: false },
  NOT_FOUND: { status: 404, exit: 3, retryable: false },
  METHOD_NOT_ALLOWED: { status: 405, exit: 2, retryable: false },
  REQUEST_TIMEOUT: { status: 408, exit: 5, retryable: true },
  CONFLICT: { status: 409, exit: 6, retryable: false },
  IN_USE: { status: 409, exit: 6, retryable: false },
  PAYLOAD_TOO_LARGE: { status: 413, exit: 2, retryable: false },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, exit: 2, retryable: false },
  HEADERS_TOO_LARGE: { status: 431, exit: 2, retryable: false },
  TOO_MANY_REQUESTS: { status: 429, exit: 5, retryable: true },
  WORKSPACE_MISSING: { status: 500, exit: 3, retryable: false },
  CORRUPT_ARTIFACT: { status: 500, exit: 7, retryable: false },
  RUN_FAILED: { status: 500, exit: 1, retryable: false },
  WORKER_CRASHED: { status: 500, exit: 1, retryable: true },
  /** A worker was ended and replaced while it held this request (another request on it overran). */
  WORKER_REPLACED: { status: 503, exit: 5, retryable: true },
  /** The work passed the server's memory limit and was stopped; a fresh worker serves a retry. */
  MEMORY_LIMIT: { status: 503, exit: 5, retryable: true },
  INTERNAL: { status: 500, exit: 1, retryable: false },
  NOT_IMPLEMENTED: { status: 501, exit: 8, retryable: false },
  NOT_READY: { status: 503, exit: 5, retryable: true },
  SHUTTING_DOWN: { status: 503, exit: 5, retryable: true },
  UPSTREAM_TIMEOUT: { status: 504, exit: 5, retryable: true },
} as const satisfies Record<string, { status: number; exit: number; retryable: boolean }>;

export type ErrorCode = keyof typeof errorCatalogue;

/** The shape an error takes when it crosses a thread, a process or the network. */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  cause?: SerializedError | { message: string };
}

export class BerthError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'BerthError';
  }

  get status(): number {
    return errorCatalogue[this.code].status;
  }

  get exitCode(): number {
    return errorCatalogue[this.code].exit;
  }

  get retryable(): boolean {
    return errorCatalogue[this.code].retryable;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCatalogue, value);
}

/** True for any error carrying a catalogue code, whichever realm or process built it. */
export function hasErrorCode(error: unknown, code?: ErrorCode): error is BerthError {
  if (typeof error !== 'object' || error === null) return false;
  const actual = (error as { code?: unknown }).code;
  return isErrorCode(actual) && (code === undefined || actual === code);
}

/** Wraps anything thrown into a BerthError; unknown errors become INTERNAL with their message kept. */
export function toBerthError(error: unknown, fallback: ErrorCode = 'INTERNAL'): BerthError {
  if (error instanceof BerthError) return error;
  if (hasErrorCode(error)) return new BerthError(error.code, (error as Error).message, { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new BerthError(fallback, message, { cause: error });
}

export function serializeError(error: unknown): SerializedError {
  const berth = toBerthError(error);
  const cause = berth.cause;
  const serialized: SerializedError = { code: berth.code, message: berth.message };
  if (cause instanceof BerthError) serialized.cause = serializeError(cause);
  return serialized;
}

export function deserializeError(data: SerializedError): BerthError {
  const cause = data.cause && 'code' in data.cause ? deserializeError(data.cause) : data.cause;
  return new BerthError(data.code, data.message, cause ? { cause } : undefined);
}
