/**
 * A folder artifact's manifest: the canonical JSON listing of its files. Canonical (entries sorted
 * by path in code-unit order, fixed key order, POSIX separators, no whitespace) so the same tree
 * always hashes to the same sha256, whatever machine or file system registered it.
 */
import { win32 } from 'node:path';
import { z } from 'zod';
import { BerthError } from '../core/errors.js';
import type { ManifestEntry } from '../core/model.js';
import { sha256Pattern } from './hashing.js';

const manifestSchema = z.array(
  z.object({
    path: z.string().min(1),
    sha256: z.string().regex(sha256Pattern),
    size: z.number().int().nonnegative(),
  }),
);

export function encodeManifest(entries: readonly ManifestEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const canonical = sorted.map((entry) => ({ path: entry.path, sha256: entry.sha256, size: entry.size }));
  return Buffer.from(JSON.stringify(canonical), 'utf8');
}

/**
 * Refuses a path that could land outside the export folder. Both separators are checked because
 * a manifest written on one OS may be exported on another.
 */
export function assertSafeRelativePath(path: string): string {
  const segments = path.split(/[\\/]/);
  const escapes =
    path.startsWith('/') ||
    win32.isAbsolute(path) ||
    path.includes('\0') ||
    segments.some((segment) => segment === '..' || segment === '.' || segment === '');
  if (escapes)
    throw new BerthError(
      'PATH_ESCAPES',
      `refusing artifact path ${JSON.stringify(path)}: it is not a plain relative path`,
    );
  return path;
}

export function decodeManifest(bytes: Buffer, sha256: string): ManifestEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new BerthError('INVALID_MODEL', `artifact ${sha256} is not a folder manifest`, { cause: error });
  }
  const parsed = manifestSchema.safeParse(value);
  if (!parsed.success) {
    throw new BerthError(
      'INVALID_MODEL',
      `artifact ${sha256} is not a folder manifest: ${z.prettifyError(parsed.error)}`,
    );
  }
  for (const entry of parsed.data) assertSafeRelativePath(entry.path);
  return parsed.data;
}
