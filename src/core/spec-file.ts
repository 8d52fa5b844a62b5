/**
 * Reading a spec file from disk: its size is checked before a byte is read, so a 50 MB file is
 * refused at once (INVALID_SPEC, naming the size and the limit) instead of being parsed.
 */
import { readFile, stat } from 'node:fs/promises';
import { BerthError } from './errors.js';
import { checkSpecSize } from './yaml.js';

function unreadable(path: string, error: NodeJS.ErrnoException): BerthError {
  if (error.code === 'ENOENT') return new BerthError('PATH_NOT_FOUND', `no such file: ${path}`);
  return new BerthError('PATH_UNREADABLE', `cannot read ${path}: ${error.code ?? error.message}`);
}

/** The text of the spec file at `path`; `shown` names it in messages (default: `path`). */
export async function readSpecFile(path: string, shown: string = path): Promise<string> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw unreadable(path, error);
  });
  if (info.isDirectory())
    throw new BerthError('PATH_UNREADABLE', `cannot read ${path}: it is a folder, not a spec file`);
  checkSpecSize(info.size, shown);
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw unreadable(path, error);
  });
  checkSpecSize(Buffer.byteLength(text), shown);
  return text;
}
