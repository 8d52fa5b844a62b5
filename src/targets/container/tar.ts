/**
 * A streaming tar writer (POSIX ustar, with a PAX header for paths longer than ustar holds): what
 * the Engine API takes as a build context and as an imported root filesystem. Entries are read
 * from disk one at a time as the stream is consumed, so a 1 GB model is never held in memory.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';

export type TarEntry =
  | { path: string; kind: 'file'; source: string; mode?: number }
  | { path: string; kind: 'data'; data: Buffer | string; mode?: number }
  | { path: string; kind: 'dir'; mode?: number }
  /** A symbolic link to `target` (kept as a link, as the engine's COPY keeps it). */
  | { path: string; kind: 'link'; target: string };

const block = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, size: number, mode: number, type: '0' | '2' | '5' | 'x', link = ''): Buffer {
  const buffer = Buffer.alloc(block);
  buffer.write(name, 0, 100, 'utf8');
  buffer.write(link, 157, 100, 'utf8');
  buffer.write(octal(mode, 8), 100, 'ascii');
  buffer.write(octal(0, 8), 108, 'ascii');
  buffer.write(octal(0, 8), 116, 'ascii');
  buffer.write(octal(size, 12), 124, 'ascii');
  // A fixed time keeps the bytes (and so the engine's layer cache) the same for the same files.
  buffer.write(octal(0, 12), 136, 'ascii');
  buffer.write('        ', 148, 'ascii');
  buffer.write(type, 156, 'ascii');
  buffer.write('ustar\0', 257, 'ascii');
  buffer.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of buffer) sum += byte;
  buffer.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return buffer;
}

function padding(size: number): Buffer {
  const rest = size % block;
  return Buffer.alloc(rest === 0 ? 0 : block - rest);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (`${length}${body}`.length !== length) length = `${length}${body}`.length;
  return `${length}${body}`;
}

function* headers(
  path: string,
  size: number,
  mode: number,
  type: '0' | '2' | '5',
  link = '',
): Generator<Buffer> {
  const name = type === '5' && !path.endsWith('/') ? `${path}/` : path;
  const records =
    (Buffer.byteLength(name) > 99 ? paxRecord('path', name) : '') +
    (Buffer.byteLength(link) > 99 ? paxRecord('linkpath', link) : '');
  if (records !== '') {
    const pax = Buffer.from(records);
    yield header('././@PaxHeader', pax.length, 0o644, 'x');
    yield pax;
    yield padding(pax.length);
  }
  yield header(name.slice(0, 99), size, mode, type, link.slice(0, 99));
}

async function* entries(list: readonly TarEntry[]): AsyncGenerator<Buffer> {
  for (const entry of list) {
    if (entry.kind === 'dir') {
      yield* headers(entry.path, 0, entry.mode ?? 0o755, '5');
      continue;
    }
    if (entry.kind === 'link') {
      yield* headers(entry.path, 0, 0o777, '2', entry.target);
      continue;
    }
    if (entry.kind === 'data') {
      const data = Buffer.isBuffer(entry.data) ? entry.data : Buffer.from(entry.data);
      yield* headers(entry.path, data.length, entry.mode ?? 0o644, '0');
      yield data;
      yield padding(data.length);
      continue;
    }
    const info = await stat(entry.source);
    yield* headers(entry.path, info.size, entry.mode ?? info.mode & 0o777, '0');
    let written = 0;
    for await (const chunk of createReadStream(entry.source)) {
      const buffer = chunk as Buffer;
      written += buffer.length;
      yield buffer;
    }
    if (written !== info.size) throw new Error(`${entry.source} changed size while it was packed`);
    yield padding(info.size);
  }
  yield Buffer.alloc(block * 2);
}

/** The entries as one tar stream, read lazily. */
export function tarStream(list: readonly TarEntry[]): Readable {
  return Readable.from(entries(list), { objectMode: false });
}
