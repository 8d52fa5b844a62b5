/** Turns the file-system errors a user can cause into catalogue errors with one-line messages. */
import { BerthError } from '../core/errors.js';

export function fsErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Maps ENOENT / EACCES / EPERM on `path` to PATH_NOT_FOUND / PATH_UNREADABLE; anything else is rethrown. */
export function pathError(error: unknown, path: string): BerthError {
  switch (fsErrorCode(error)) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new BerthError('PATH_NOT_FOUND', `no such file or folder: ${path}`, { cause: error });
    case 'EACCES':
    case 'EPERM':
      return new BerthError('PATH_UNREADABLE', `cannot read ${path}: permission denied`, { cause: error });
    default:
      throw error;
  }
}
