/**
 * The bench's input: `count` deterministic pseudo-random images, 3x48x192 float32 each (the PP-OCR
 * classifier's input), written as `.npy` files, one per item: the format the batch runtime's
 * built-in ONNX scoring reads. The same seed always gives the same bytes.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seededRandom as random } from '../../test/fixtures/random.js';

export const imageShape = [3, 48, 192] as const;
export const imageValues = imageShape[0] * imageShape[1] * imageShape[2];

export function image(index: number): Float32Array {
  const next = random(index + 1);
  const values = new Float32Array(imageValues);
  for (let i = 0; i < values.length; i += 1) values[i] = next() * 2 - 1;
  return values;
}

function npyHeader(): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${imageShape.join(', ')}), }`;
  // Magic + version + 2-byte length, then the dict padded with spaces to a multiple of 64, ending in \n.
  const unpadded = 10 + dict.length + 1;
  const padded = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const header = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(header);
  header.writeUInt16LE(padded.length, 8);
  return Buffer.concat([header, Buffer.from(padded, 'latin1')]);
}

/** Writes the images; resolves their paths in order. */
export async function writeImages(dir: string, count: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const header = npyHeader();
  const paths: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const path = join(dir, `img-${String(index).padStart(5, '0')}.npy`);
    const values = image(index);
    await writeFile(
      path,
      Buffer.concat([header, Buffer.from(values.buffer, values.byteOffset, values.byteLength)]),
    );
    paths.push(path);
  }
  return paths;
}

/**
 * Reads every image once, into one reused buffer, so each engine run starts with the data set in
 * the page cache. Some kernels reclaim file pages left untouched for a minute (DAMON-based
 * reclaim on this VM), and the raw sweep takes about that long: without this, how much of the
 * input an engine reads from disk depends on how long the parts before it took, while the limit
 * it is compared with reads no file at all. Returns the seconds it took.
 */
export function warmPageCache(paths: readonly string[]): number {
  const started = performance.now();
  const buffer = Buffer.allocUnsafe(1 << 20);
  for (const path of paths) {
    const fd = openSync(path, 'r');
    try {
      while (readSync(fd, buffer, 0, buffer.length, null) > 0);
    } finally {
      closeSync(fd);
    }
  }
  return (performance.now() - started) / 1000;
}
