/**
 * Unpacks an edge bundle (gzip'd ustar, PAX `path` records for long names: what
 * targets/container/tar.ts writes) into a folder. Every path must stay inside the folder; links
 * and other entry types are refused, since a bundle never holds them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BerthError } from '../core/errors.js';

const block = 512;

function text(buffer: Buffer, start: number, length: number): string {
  const raw = buffer.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? raw.length : end).toString('utf8');
}

function octal(buffer: Buffer, start: number, length: number): number {
  const value = text(buffer, start, length).trim();
  return value === '' ? 0 : parseInt(value, 8);
}

function paxPath(body: Buffer): string | undefined {
  let rest = body.toString('utf8');
  while (rest.length > 0) {
    const space = rest.indexOf(' ');
    const length = Number(rest.slice(0, space));
    if (!(length > 0)) break;
    const record = rest.slice(space + 1, length - 1);
    if (record.startsWith('path=')) return record.slice(5);
    rest = rest.slice(length);
  }
  return undefined;
}

function corrupt(message: string): BerthError {
  return new BerthError('CORRUPT_ARTIFACT', `edge bundle: ${message}`);
}

/** Unpacks the gzip'd tar `archive` into `dir` (created). */
export async function extractBundle(archive: Buffer, dir: string): Promise<void> {
  let tar: Buffer;
  try {
    tar = gunzipSync(archive);
  } catch (error) {
    throw corrupt(`not a gzip stream (${error instanceof Error ? error.message : String(error)})`);
  }
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  let offset = 0;
  let longPath: string | undefined;
  let ended = false;
  while (offset + block <= tar.length) {
    const header = tar.subarray(offset, offset + block);
    if (header.every((byte) => byte === 0)) {
      ended = true;
      break;
    }
    const size = octal(header, 124, 12);
    const mode = octal(header, 100, 8);
    const type = text(header, 156, 1) || '0';
    const name = longPath ?? text(header, 0, 100);
    longPath = undefined;
    const body = tar.subarray(offset + block, offset + block + size);
    if (body.length < size) throw corrupt(`${name} is cut short`);
    offset += block + Math.ceil(size / block) * block;
    if (type === 'x') {
      longPath = paxPath(body);
      continue;
    }
    const path = resolve(root, name);
    if (path !== root && !path.startsWith(`${root}${sep}`))
      throw new BerthError('PATH_ESCAPES', `edge bundle: ${name} points outside the bundle`);
    if (type === '5') await mkdir(path, { recursive: true });
    else if (type === '0') {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, body, { mode: mode & 0o777 });
    } else throw corrupt(`${name}: entry type ${type} is not allowed`);
  }
  if (!ended) throw corrupt('the archive ends before its end marker');
}
