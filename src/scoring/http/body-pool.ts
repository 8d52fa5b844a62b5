/**
 * Reused memory for binary request bodies. A v2 binary body (a JSON header, then the tensors) is
 * read into a fresh buffer, viewed in place by the decoder, and copied once more into a batch or a
 * worker's message; the buffer is then garbage. At a thousand 74 KB images a second, allocating
 * and collecting those buffers costs the main thread more than reading them. The pool keeps
 * released buffers by size class and hands them out again.
 *
 * A buffer goes back only when the engine is known to be done with it: the front end releases a
 * body after the engine answered (or refused) its request, never after an abort, when a run may
 * still be reading it. A detached buffer (transferred to a worker) is never kept, nor is one the
 * pool did not lend (a small body lives in node's shared buffer pool), nor one given back twice.
 */

/** Largest buffer kept: bigger bodies are rare and would pin memory. */
const MAX_POOLED_BYTES = 8 * 1024 * 1024;

/** Smallest size class: smaller bodies come from node's own buffer pool. */
const MIN_CLASS_BYTES = 4096;

/** The size class for `bytes`: the next step of an eighth of a power of two (at most 12.5% unused). */
export function sizeClass(bytes: number): number {
  if (bytes <= MIN_CLASS_BYTES) return MIN_CLASS_BYTES;
  const power = 2 ** Math.floor(Math.log2(bytes - 1));
  const step = power / 8;
  return Math.ceil(bytes / step) * step;
}

export class BodyBufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** Buffers handed out and not yet given back: only these may come back. */
  private readonly lent = new WeakSet<ArrayBuffer>();
  private held = 0;

  /** `maxBytes`: memory the pool may keep while no request uses it. */
  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  /** Bytes kept for reuse right now. */
  get heldBytes(): number {
    return this.held;
  }

  /** An ArrayBuffer of at least `bytes` bytes, reused when one is free. Its contents are stale. */
  acquire(bytes: number): ArrayBuffer {
    const size = sizeClass(bytes);
    if (size > MAX_POOLED_BYTES) return Buffer.allocUnsafeSlow(bytes).buffer;
    let buffer = this.free.get(size)?.pop();
    if (buffer !== undefined) this.held -= size;
    else buffer = Buffer.allocUnsafeSlow(size).buffer;
    this.lent.add(buffer);
    return buffer;
  }

  /** Gives `buffer` back; the caller must not touch it afterwards. */
  release(buffer: ArrayBufferLike): void {
    if (!(buffer instanceof ArrayBuffer) || !this.lent.delete(buffer)) return;
    const size = buffer.byteLength;
    if (size === 0 || this.held + size > this.maxBytes) return;
    let list = this.free.get(size);
    if (list === undefined) {
      list = [];
      this.free.set(size, list);
    }
    list.push(buffer);
    this.held += size;
  }
}
