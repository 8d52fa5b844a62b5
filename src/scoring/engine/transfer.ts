/**
 * Tensors cross threads by moving their ArrayBuffers instead of copying them. A typed array that
 * is a view into a larger buffer (a slice of an HTTP body, Node's Buffer pool) is copied to a
 * tight buffer first: transferring the whole buffer would detach bytes that belong to someone
 * else, and cloning it would copy all of it.
 */
import type { TensorData, TensorValue } from '../engine.js';

export interface Transferable {
  tensors: Record<string, TensorValue>;
  transfer: ArrayBuffer[];
}

export function prepareTensors(tensors: Record<string, TensorValue>): Transferable {
  const seen = new Set<ArrayBuffer>();
  const transfer: ArrayBuffer[] = [];
  const prepared: Record<string, TensorValue> = {};
  for (const [name, tensor] of Object.entries(tensors)) {
    const data = ownBuffer(tensor.data, seen);
    if (!Array.isArray(data) && data.buffer instanceof ArrayBuffer) {
      seen.add(data.buffer);
      transfer.push(data.buffer);
    }
    prepared[name] = { datatype: tensor.datatype, shape: tensor.shape, data };
  }
  return { tensors: prepared, transfer };
}

/** Bytes (a raw request or response body) to send along, with the buffer to transfer if any. */
export function prepareBytes(bytes: Uint8Array): { bytes: Uint8Array; transfer: ArrayBuffer[] } {
  const own = ownBuffer(bytes, new Set()) as Uint8Array;
  return { bytes: own, transfer: own.buffer instanceof ArrayBuffer ? [own.buffer] : [] };
}

function ownBuffer(data: TensorData, seen: Set<ArrayBuffer>): TensorData {
  if (Array.isArray(data)) return data;
  const buffer = data.buffer;
  // An empty or already-detached buffer: listing it for transfer makes postMessage drop the message.
  if (buffer.byteLength === 0) return new (data.constructor as new (length: number) => typeof data)(0);
  const whole = data.byteOffset === 0 && data.byteLength === buffer.byteLength;
  // A buffer already moving with another tensor of this message must not be listed twice.
  if (whole && buffer instanceof ArrayBuffer && !seen.has(buffer)) return data;
  // Buffer#slice returns a view, not a copy; copy a Buffer through its Uint8Array base.
  return Buffer.isBuffer(data) ? new Uint8Array(data) : (data.slice() as TensorData);
}
