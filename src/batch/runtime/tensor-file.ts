/**
 * Reads one item file of the built-in ONNX scoring as a tensor: `.npy` or `.json`. The file is
 * opened once, checked to be a regular file (a folder fails on read, a FIFO would block) and read
 * whole into a buffer of its own, so the `.npy` data is viewed where it lies rather than copied.
 * Every problem fails the item alone and comes back as text, the reason the report shows.
 *
 * The read is synchronous, on the worker's own thread, on purpose: that thread has nothing else to
 * do while it scores (ONNX Runtime's run holds it too), and a read from the page cache costs about
 * 25 µs of CPU for a 110 KB image this way against about 60 µs through libuv's thread pool (four
 * hand-offs: open, fstat, read, close), CPU the model's own threads would otherwise get.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { extname } from 'node:path';
import { parseJsonTensor, parseNpy } from './npy.js';
import type { NumericTensor } from './npy.js';

export function readTensorFile(path: string): NumericTensor | string {
  const extension = extname(path).toLowerCase();
  if (extension !== '.npy' && extension !== '.json')
    return `built-in ONNX scoring reads .npy and .json tensors, not ${extension || 'extension-less'} files: add a scoring script`;
  let bytes: Buffer;
  try {
    const fd = openSync(path, 'r');
    try {
      const info = fstatSync(fd);
      if (!info.isFile()) return 'not a regular file';
      bytes = readWhole(fd, info.size);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return `cannot read: ${typeof code === 'string' ? code : (error as Error).message}`;
  }
  try {
    return extension === '.npy' ? parseNpy(bytes) : parseJsonTensor(bytes.toString('utf8'));
  } catch (error) {
    return (error as Error).message;
  }
}

/** `size` bytes, or fewer when the file shrank since its fstat; a file that grew is read as it was. */
function readWhole(fd: number, size: number): Buffer {
  // Not from Buffer's shared pool: the buffer starts at offset 0 of its own memory.
  const bytes = Buffer.allocUnsafeSlow(size);
  let filled = 0;
  while (filled < size) {
    const read = readSync(fd, bytes, filled, size - filled, filled);
    if (read === 0) break;
    filled += read;
  }
  return filled === size ? bytes : bytes.subarray(0, filled);
}
