/**
 * Expands the job's inputs (folders, files and globs) into a sorted list of absolute file paths.
 * Sorting makes planning deterministic: the same inputs always give the same mini-batches, which is
 * what lets `resume` trust the plan it stored. Symbolic links are listed, not followed into folders,
 * so a dangling one still becomes an item (reported as unreadable) instead of vanishing.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { BerthError } from '../../core/errors.js';

export interface ListedInputs {
  files: string[];
  /** The folder keys are made relative to: the common root of the inputs. */
  root: string;
}

const magic = /[*?[{]/;

export async function listInputFiles(inputs: readonly string[], cwd = process.cwd()): Promise<ListedInputs> {
  if (inputs.length === 0)
    throw new BerthError('BAD_INPUT', 'no input given: pass a folder, a file or a glob');
  const found = new Set<string>();
  const roots: string[] = [];
  for (const input of inputs) {
    if (magic.test(input)) {
      const { base, matches } = compileGlob(resolve(cwd, input));
      roots.push(base);
      for (const file of await walk(base)) if (matches(file)) found.add(file);
      continue;
    }
    const path = resolve(cwd, input);
    const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
      const code = error.code === 'ENOENT' ? 'PATH_NOT_FOUND' : 'PATH_UNREADABLE';
      throw new BerthError(code, `input ${path}: ${error.code ?? error.message}`);
    });
    if (info.isDirectory()) {
      roots.push(path);
      for (const file of await walk(path)) found.add(file);
    } else {
      roots.push(resolve(path, '..'));
      found.add(path);
    }
  }
  const files = [...found].sort();
  if (files.length === 0) throw new BerthError('BAD_INPUT', `no input files matched ${inputs.join(', ')}`);
  return { files, root: commonRoot(roots) };
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw new BerthError('PATH_UNREADABLE', `cannot list ${dir}: ${error.code ?? error.message}`);
  });
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    // Hidden files (.DS_Store, editors' swap files) are never data.
    else if (!entry.name.startsWith('.')) files.push(path);
  }
  return files;
}

/** `*` and `?` stay within a folder, `**` crosses folders, `{a,b}` and `[abc]` as in a shell. */
export function compileGlob(pattern: string): { base: string; matches: (file: string) => boolean } {
  const parts = pattern.split(sep);
  const firstMagic = parts.findIndex((part) => magic.test(part));
  const base = parts.slice(0, firstMagic).join(sep) || sep;
  let source = '';
  const rest = parts.slice(firstMagic).join('/');
  for (let i = 0; i < rest.length; i += 1) {
    const char = rest[i] ?? '';
    if (char === '*' && rest[i + 1] === '*') {
      // `**/` matches zero or more folders.
      source += rest[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += rest[i + 2] === '/' ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '{') {
      const end = rest.indexOf('}', i);
      if (end < 0) source += '\\{';
      else {
        source += `(?:${rest
          .slice(i + 1, end)
          .split(',')
          .map((option) => option.replace(/[.+^$()|\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
          .join('|')})`;
        i = end;
      }
    } else if (char === '[') {
      const end = rest.indexOf(']', i);
      source += end < 0 ? '\\[' : rest.slice(i, end + 1);
      if (end >= 0) i = end;
    } else source += char.replace(/[.+^$()|\\]/g, '\\$&');
  }
  const prefix = base === sep ? '' : base;
  const escapedBase = prefix
    .split(sep)
    .join('/')
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const matcher = new RegExp(`^${escapedBase}/${source}$`);
  return { base, matches: (file) => matcher.test(file.split(sep).join('/')) };
}

function commonRoot(paths: string[]): string {
  const split = paths.map((path) => path.split(sep));
  const first = split[0] ?? [];
  let length = first.length;
  for (const parts of split) {
    let same = 0;
    while (same < Math.min(length, parts.length) && parts[same] === first[same]) same += 1;
    length = same;
  }
  return first.slice(0, length).join(sep) || sep;
}
