/**
 * Element counts, checked before anything is allocated. A request's `shape` is a user's number:
 * `[1e9, 3, 48, 192]` asks for 27 trillion elements whatever the body holds. Every decoder
 * therefore compares the count a shape implies with what the body actually carries (values in
 * a JSON array, bytes in a binary region) and allocates only once they agree, so the memory a
 * request can make the server allocate is bounded by the size of its body.
 */
import { BerthError } from '../../core/errors.js';

/** Nesting deeper than this is refused before any work is done on it. */
export const MAX_JSON_RANK = 32;

/** The product of the dimensions (Infinity or inexact for absurd shapes: callers only compare it). */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

export function formatDims(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** The error every decoder gives when the data does not hold what the shape says. */
export function countMismatch(
  name: string,
  actual: number,
  shape: readonly number[],
  count: number,
): BerthError {
  return new BerthError(
    'BAD_INPUT',
    `input "${name}" has ${actual} values but shape ${formatDims(shape)} needs ${count}`,
  );
}

/**
 * How many values a nested JSON array holds, counted over its arrays and not its values: an array
 * whose first item is a value counts its length, one whose first item is an array counts its items'
 * values (a value among arrays counts one). Exact for every well-formed nesting; for a malformed one
 * (values and arrays mixed in one array) it may be off, but it never exceeds the items that exist,
 * so allocating it is safe, and the walk that fills the tensor still reports the malformation.
 * Costs one step per array, so checking a large tensor costs next to nothing.
 */
export function nestedValueCount(name: string, node: readonly unknown[], depth = 0): number {
  if (node.length === 0 || !Array.isArray(node[0])) return node.length;
  if (depth + 1 >= MAX_JSON_RANK) {
    throw new BerthError('BAD_INPUT', `input "${name}" is nested deeper than ${MAX_JSON_RANK} levels`);
  }
  let count = 0;
  for (const item of node) {
    count += Array.isArray(item) ? nestedValueCount(name, item as unknown[], depth + 1) : 1;
  }
  return count;
}
