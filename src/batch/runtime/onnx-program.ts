/**
 * Built-in batch scoring of an ONNX model with one input, used when a deployment has no scoring
 * script. The whole mini-batch goes through the model in one run:
 *
 * - tabular input: each row's numeric columns, in column order, become one row of the input
 *   [n, columns]. A row with a different number of numeric values than the model takes fails alone.
 * - file input: each file is one tensor, `.npy` (numeric dtype, C order) or `.json` (`{shape, data}`
 *   or nested arrays), shaped like the model input without its batch dimension (a leading 1 is
 *   dropped); the files are stacked into [n, ...]. A file of another shape fails alone.
 *
 * Each item's result is an object with one entry per model output: a number when the output has
 * one value per item, else the item's values as a flat array.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import * as ort from 'onnxruntime-node';
import { BerthError } from '../../core/errors.js';
import { parseJsonTensor, parseNpy } from './npy.js';
import type { NumericTensor } from './npy.js';
import type { BatchProgram, ItemsForRun, ProgramAnswer } from './program.js';

type Feed = { shape: number[]; values: ArrayLike<number> };

/** The input's element type, as a typed array the mini-batch is copied into once. */
const arrayOf: Record<string, (length: number) => Float32Array | Float64Array | Int32Array | BigInt64Array> =
  {
    float32: (length) => new Float32Array(length),
    float64: (length) => new Float64Array(length),
    int32: (length) => new Int32Array(length),
    int64: (length) => new BigInt64Array(length),
  };

/** Copies one item's values into the batch tensor at `offset`; typed arrays of a number type copy in bulk. */
function copyInto(
  target: Float32Array | Float64Array | Int32Array | BigInt64Array,
  values: ArrayLike<number>,
  offset: number,
): void {
  if (target instanceof BigInt64Array) {
    for (let i = 0; i < values.length; i += 1) target[offset + i] = BigInt(Math.round(values[i] ?? 0));
  } else if (ArrayBuffer.isView(values)) {
    target.set(values, offset);
  } else {
    for (let i = 0; i < values.length; i += 1) target[offset + i] = values[i] ?? 0;
  }
}

export async function loadOnnxProgram(session: ort.InferenceSession): Promise<BatchProgram> {
  const input = session.inputMetadata[0];
  if (session.inputNames.length !== 1 || input === undefined || !input.isTensor) {
    throw new BerthError(
      'RUN_FAILED',
      `the model has ${session.inputNames.length} inputs; built-in batch scoring feeds exactly one tensor: add a scoring script`,
    );
  }
  const allocate = arrayOf[input.type];
  if (allocate === undefined) {
    throw new BerthError(
      'RUN_FAILED',
      `the model input "${input.name}" is ${input.type}; built-in batch scoring feeds float32, float64, int32 or int64`,
    );
  }
  // Fixed dimensions after the batch one (numbers); dynamic ones are taken from the first item.
  const itemDims = input.shape.slice(1).map((dim) => (typeof dim === 'number' && dim > 0 ? dim : undefined));

  return {
    async run(items: ItemsForRun): Promise<ProgramAnswer> {
      const itemErrors = new Map<string, string>();
      const feeds =
        items.kind === 'rows' ? items.rows.map(rowFeed) : await Promise.all(items.paths.map(fileFeed));
      let shape: number[] | undefined;
      const accepted: { index: number; feed: Feed }[] = [];
      feeds.forEach((feed, index) => {
        const key = items.keys[index] ?? '';
        if (typeof feed === 'string') return void itemErrors.set(key, feed);
        // A file saved with its own batch dimension of 1 ([1, 3, 48, 192]) is one item all the same.
        const dims =
          feed.shape.length === itemDims.length + 1 && feed.shape[0] === 1 ? feed.shape.slice(1) : feed.shape;
        const expected = shape ?? itemDims.map((dim, axis) => dim ?? dims[axis] ?? -1);
        if (dims.length !== expected.length || dims.some((dim, axis) => dim !== expected[axis])) {
          return void itemErrors.set(key, shapeProblem(dims, expected, items.kind));
        }
        shape = expected;
        accepted.push({ index, feed });
      });
      const value: unknown[] = Array.from({ length: items.keys.length }, () => undefined);
      if (accepted.length === 0 || shape === undefined) return { value, itemErrors };
      const itemSize = shape.reduce((product, dim) => product * dim, 1);
      const batch = allocate(accepted.length * itemSize);
      accepted.forEach(({ feed }, position) => copyInto(batch, feed.values, position * itemSize));
      const tensor = new ort.Tensor(input.type as 'float32', batch as Float32Array, [
        accepted.length,
        ...shape,
      ]);
      const outputs = await session.run({ [input.name]: tensor });
      for (const [name, output] of Object.entries(outputs)) {
        const data = output.data as ArrayLike<number | bigint>;
        const per = data.length / accepted.length;
        accepted.forEach(({ index }, position) => {
          const slice = Array.from({ length: per }, (_, i) => Number(data[position * per + i]));
          const result = (value[index] ?? {}) as Record<string, unknown>;
          result[name] = slice.length === 1 ? slice[0] : slice;
          value[index] = result;
        });
      }
      return { value, itemErrors };
    },
    close: () => session.release(),
  };
}

function rowFeed(row: Record<string, unknown>): Feed {
  const values = Object.values(row).filter((value): value is number => typeof value === 'number');
  return { shape: [values.length], values };
}

async function fileFeed(path: string): Promise<Feed | string> {
  let tensor: NumericTensor;
  try {
    const bytes = await readFile(path);
    const extension = extname(path).toLowerCase();
    if (extension === '.npy') tensor = parseNpy(bytes);
    else if (extension === '.json') tensor = parseJsonTensor(bytes.toString('utf8'));
    else
      return `built-in ONNX scoring reads .npy and .json tensors, not ${extension || 'extension-less'} files: add a scoring script`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== undefined && typeof code === 'string' && code.startsWith('E')
      ? `cannot read: ${code}`
      : (error as Error).message;
  }
  return { shape: tensor.shape, values: tensor.data };
}

function shapeProblem(actual: number[], expected: number[], kind: 'files' | 'rows'): string {
  return kind === 'rows'
    ? `row has ${actual[0] ?? 0} numeric columns; the model input takes ${expected[0] ?? '?'}`
    : `tensor shape [${actual.join(', ')}] does not match the model input [n, ${expected.join(', ')}]`;
}
