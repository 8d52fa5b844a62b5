/**
 * Reads the item files of the built-in ONNX scoring as tensors: `.npy` or `.json`. Each file is
 * opened once, checked to be a regular file (a folder fails on read, a FIFO would block) and read
 * whole, so the `.npy` data is viewed where it lies rather than copied. Every problem fails the
 * item alone and comes back as text, the reason the report shows.
 *
 * A reader reads every file into the same buffer, grown when a file is larger, so a tensor it
 * returns is valid only until its next read: the caller copies the values out at once (into the
 * model's input). A buffer per file cost more than the read itself: each one was fresh memory the
 * kernel had to fault in and zero, and the stream of large ArrayBuffers (55 MB/s per worker on
 * PP-OCR's 110 KB images) made V8 run a full mark-compact about every half second.
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

/** The largest buffer a reader keeps between files. */
const keptBytes = 16 * 1024 * 1024;

export type TensorFileReader = (path: string) => NumericTensor | string;

export function createTensorFileReader(): TensorFileReader {
  // Not from Buffer's shared pool: the buffer starts at offset 0 of its own memory, so the data of
  // a .npy file (its header padded to 64 bytes) starts aligned for a typed view.
  let scratch = Buffer.allocUnsafeSlow(0);
  const room = (size: number): Buffer => {
    // A rare huge file gets a buffer of its own, so the worker does not keep its size for good.
    if (size > keptBytes) return Buffer.allocUnsafeSlow(size);
    if (scratch.length < size) scratch = Buffer.allocUnsafeSlow(size);
    return scratch;
  };
  return (path) => readTensorFile(path, room);
}

function readTensorFile(path: string, room: (size: number) => Buffer): NumericTensor | string {
  const extension = extname(path).toLowerCase();
  if (extension !== '.npy' && extension !== '.json')
    return `built-in ONNX scoring reads .npy and .json tensors, not ${extension || 'extension-less'} files: add a scoring script`;
  let bytes: Buffer;
  try {
    const fd = openSync(path, 'r');
    try {
      const info = fstatSync(fd);
      if (!info.isFile()) return 'not a regular file';
      bytes = readWhole(fd, room(info.size), info.size);
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

/**
 * `size` bytes into `bytes`, or fewer when the file shrank since its fstat; a file that grew is
 * read as it was.
 */
function readWhole(fd: number, bytes: Buffer, size: number): Buffer {
  let filled = 0;
  while (filled < size) {
    const read = readSync(fd, bytes, filled, size - filled, filled);
    if (read === 0) break;
    filled += read;
  }
  return bytes.subarray(0, filled);
}
