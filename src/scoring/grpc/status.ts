/**
 * The one place berth's error codes become gRPC status codes. The catalogue code also travels in
 * the `berth-error-code` trailer, so clients can match on it exactly as HTTP clients do.
 */
import { Metadata, status, type ServerErrorResponse } from '@grpc/grpc-js';
import { toBerthError, type ErrorCode } from '../../core/errors.js';

export const ERROR_CODE_TRAILER = 'berth-error-code';

export const grpcStatusOf = {
  BAD_INPUT: status.INVALID_ARGUMENT,
  INVALID_NAME: status.INVALID_ARGUMENT,
  INVALID_SPEC: status.INVALID_ARGUMENT,
  INVALID_MODEL: status.INVALID_ARGUMENT,
  PATH_NOT_FOUND: status.INVALID_ARGUMENT,
  PATH_UNREADABLE: status.INVALID_ARGUMENT,
  PATH_ESCAPES: status.INVALID_ARGUMENT,
  UNSUPPORTED_MEDIA_TYPE: status.INVALID_ARGUMENT,
  HEADERS_TOO_LARGE: status.INVALID_ARGUMENT,
  UNAUTHORIZED: status.UNAUTHENTICATED,
  NOT_FOUND: status.NOT_FOUND,
  METHOD_NOT_ALLOWED: status.UNIMPLEMENTED,
  NOT_IMPLEMENTED: status.UNIMPLEMENTED,
  REQUEST_TIMEOUT: status.DEADLINE_EXCEEDED,
  UPSTREAM_TIMEOUT: status.DEADLINE_EXCEEDED,
  CONFLICT: status.FAILED_PRECONDITION,
  IN_USE: status.FAILED_PRECONDITION,
  PAYLOAD_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  TOO_MANY_REQUESTS: status.RESOURCE_EXHAUSTED,
  NOT_READY: status.UNAVAILABLE,
  SHUTTING_DOWN: status.UNAVAILABLE,
  WORKER_CRASHED: status.UNAVAILABLE,
  WORKER_REPLACED: status.UNAVAILABLE,
  MEMORY_LIMIT: status.RESOURCE_EXHAUSTED,
  WORKSPACE_MISSING: status.INTERNAL,
  CORRUPT_ARTIFACT: status.INTERNAL,
  RUN_FAILED: status.INTERNAL,
  INTERNAL: status.INTERNAL,
} as const satisfies Record<ErrorCode, status>;

export function toServiceError(error: unknown): ServerErrorResponse {
  const berth = toBerthError(error);
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_TRAILER, berth.code);
  return Object.assign(new Error(berth.message), {
    code: grpcStatusOf[berth.code],
    details: berth.message,
    metadata,
  });
}
