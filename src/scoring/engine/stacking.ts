/**
 * Stacks several requests' tensors along dimension 0 into one batch, and splits a batch's outputs
 * back into one result per request. Each request gets its own tight buffers (a copy, not a view
 * into the batch), so a caller may keep or transfer its result without touching another's.
 */
import type { TensorData, TensorValue } from '../engine.js';
import { arrayClassOf, elementCount } from '../runtimes/tensor-data.js';

export function stackInputs(requests: readonly Record<string, TensorValue>[]): Record<string, TensorValue> {
  const first = requests[0];
  if (first === undefined) return {};
  if (requests.length === 1) return first;
  const stacked: Record<string, TensorValue> = {};
  for (const [name, head] of Object.entries(first)) {
    const parts = requests.map((request) => request[name] as TensorValue);
    const rows = parts.reduce((sum, part) => sum + (part.shape[0] ?? 0), 0);
    const shape = [rows, ...head.shape.slice(1)];
    stacked[name] = { datatype: head.datatype, shape, data: concatData(head, parts, elementCount(shape)) };
  }
  return stacked;
}

function concatData(head: TensorValue, parts: readonly TensorValue[], total: number): TensorData {
  if (head.datatype === 'BYTES') return parts.flatMap((part) => part.data as string[]);
  const out = new arrayClassOf[head.datatype](total);
  let offset = 0;
  for (const part of parts) {
    // Each part's class matches the datatype (validated), so this is a plain memory copy.
    (out as Uint8Array).set(part.data as Uint8Array, offset);
    offset += part.data.length;
  }
  return out;
}

/**
 * Splits every output along dimension 0 by `rows`. Returns undefined when an output's first
 * dimension is not the batch's total row count: the model does not batch the way its signature
 * says, and the caller must run the requests one by one instead.
 */
export function splitOutputs(
  outputs: Record<string, TensorValue>,
  rows: readonly number[],
): Record<string, TensorValue>[] | undefined {
  const total = rows.reduce((sum, count) => sum + count, 0);
  const results: Record<string, TensorValue>[] = rows.map(() => ({}));
  for (const [name, value] of Object.entries(outputs)) {
    if (value.shape[0] !== total) return undefined;
    const rowSize = total === 0 ? 0 : value.data.length / total;
    let start = 0;
    rows.forEach((count, index) => {
      const end = start + count * rowSize;
      const data = value.data.slice(start, end) as TensorData;
      (results[index] as Record<string, TensorValue>)[name] = {
        datatype: value.datatype,
        shape: [count, ...value.shape.slice(1)],
        data,
      };
      start = end;
    });
  }
  return results;
}
