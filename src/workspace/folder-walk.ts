/**
 * Lists the regular files of a folder for `putFolder`. Symlinks are followed only while they stay
 * inside the folder: a model folder that links to ~/.ssh must not carry it into an image.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { BerthError } from '../core/errors.js';
import { fsErrorCode, pathError } from './fs-errors.js';

export interface FolderFile {
  /** POSIX-separated path relative to the folder. */
  path: string;
  /** Where to read it (a symlink's resolved target). */
  absolutePath: string;
  size: number;
}

function isInside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** Every regular file under `root`, sorted by path; empty folders are not listed. */
export async function walkFolder(root: string): Promise<FolderFile[]> {
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch (error) {
    throw pathError(error, root);
  }
  const files: FolderFile[] = [];

  async function resolveLink(linkPath: string): Promise<string> {
    let target: string;
    try {
      target = await realpath(linkPath);
    } catch (error) {
      if (fsErrorCode(error) === 'ENOENT') {
        throw new BerthError('PATH_NOT_FOUND', `symlink ${linkPath} points to a missing file`, {
          cause: error,
        });
      }
      throw pathError(error, linkPath);
    }
    if (!isInside(realRoot, target)) {
      throw new BerthError('PATH_ESCAPES', `symlink ${linkPath} points outside ${root} (to ${target})`);
    }
    return target;
  }

  // `ancestors` holds the real paths of the folders being visited, to stop a symlink loop.
  async function visit(dir: string, prefix: string, ancestors: ReadonlySet<string>): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      throw pathError(error, dir);
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const relativePath = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      const real = entry.isSymbolicLink() ? await resolveLink(path) : path;
      let info;
      try {
        info = await stat(real);
      } catch (error) {
        throw pathError(error, path);
      }
      if (info.isDirectory()) {
        const realDir = await realpath(real);
        if (ancestors.has(realDir)) throw new BerthError('BAD_INPUT', `symlink loop at ${path}`);
        await visit(real, relativePath, new Set([...ancestors, realDir]));
      } else if (info.isFile()) {
        files.push({ path: relativePath, absolutePath: real, size: info.size });
      } else {
        throw new BerthError('BAD_INPUT', `${path} is neither a regular file nor a folder`);
      }
    }
  }

  await visit(root, '', new Set([realRoot]));
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
