/**
 * Built-in batch scoring of an ONNX model with one input, used when a deployment has no scoring
 * script. Each mini-batch goes through the model as one batch of items:
 *
 * - tabular input: each row's numeric columns, in column order, become one row of the input
 *   [n, columns]. A row with a different number of numeric values than the model takes fails alone.
 * - file input: each file is one tensor, `.npy` (numeric dtype, C order) or `.json` (`{shape, data}`
 *   or nested arrays), shaped like the model input without its batch dimension (a leading 1 is
 *   dropped); the files are stacked into [n, ...]. A file of another shape fails alone.
 *
 * Each item's result is an object with one entry per model output: a number when the output has
 * one value per item, else the item's values as a flat array.
 *
 * The model runs on the mini-batch in slices of a few items rather than all at once: how many
 * is chosen on the machine itself from the first mini-batches (slice-size.ts);
 * `BERTH_ORT_BATCH_SIZE` (an environment variable of the worker, e.g. from the deployment's
 * `environment_variables`) sets the count instead.
 */
import * as ort from 'onnxruntime-node';
import { BerthError } from '../../core/errors.js';
import type { BatchProgram, ItemsForRun, ProgramAnswer } from './program.js';
import { SliceSize } from './slice-size.js';
import { createTensorFileReader, type TensorFileReader } from './tensor-file.js';

type Feed = { shape: number[]; values: ArrayLike<number> };
type InputArray = Float32Array | Float64Array | Int32Array | BigInt64Array;

/** The input's element type, as a typed array each slice is copied into once. */
const arrayOf: Record<string, (length: number) => InputArray> = {
  float32: (length) => new Float32Array(length),
  float64: (length) => new Float64Array(length),
  int32: (length) => new Int32Array(length),
  int64: (length) => new BigInt64Array(length),
};

/** Input buffers kept between slices: one per mini-batch a worker process runs at once, within reason. */
const maxSpareBuffers = 4;

/** Copies one item's values into the batch tensor at `offset`; typed arrays of a number type copy in bulk. */
function copyInto(target: InputArray, values: ArrayLike<number>, offset: number): void {
  if (target instanceof BigInt64Array) {
    for (let i = 0; i < values.length; i += 1) target[offset + i] = BigInt(Math.round(values[i] ?? 0));
  } else if (ArrayBuffer.isView(values)) {
    target.set(values, offset);
  } else {
    for (let i = 0; i < values.length; i += 1) target[offset + i] = values[i] ?? 0;
  }
}

/** `modelKey` identifies the model (its file) for the slice size chosen for it (slice-size.ts). */
export async function loadOnnxProgram(
  session: ort.InferenceSession,
  modelKey?: string,
): Promise<BatchProgram> {
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
  const { name: inputName, type: inputType } = input;
  const makeArray = allocate;
  const elementBytes = allocate(1).BYTES_PER_ELEMENT;
  const setSize = Number(process.env.BERTH_ORT_BATCH_SIZE);
  const fixedSize = Number.isInteger(setSize) && setSize > 0 ? setSize : undefined;
  // Made with the first item's size, which sets the candidates.
  let sliceSize: SliceSize | undefined;

  // Input buffers kept for later slices (ONNX Runtime reads one during run() only). A slice takes
  // one that no other slice holds: a cluster worker may run several mini-batches of one program at
  // once, and their runs interleave. A shorter slice uses the front of a buffer.
  const spare: InputArray[] = [];
  const take = (length: number): InputArray => {
    const fits = spare.findIndex((buffer) => buffer.length >= length);
    return (fits >= 0 ? spare.splice(fits, 1)[0] : undefined) ?? makeArray(length);
  };
  const give = (buffer: InputArray): void => {
    if (spare.length < maxSpareBuffers) spare.push(buffer);
  };
  // One reader for every mini-batch of the program, even interleaved ones: a file's values are
  // copied into the model's input before anything else runs, let alone the next read.
  const readFile = createTensorFileReader();

  /**
   * Runs the model on the first `indices.length` items of `buffer`, stores each item's outputs in
   * `value`, and answers the seconds the model took.
   */
  async function runSlice(
    buffer: InputArray,
    indices: number[],
    shape: number[],
    value: unknown[],
  ): Promise<number> {
    const length = indices.length * shape.reduce((product, dim) => product * dim, 1);
    const tensor = new ort.Tensor(inputType as 'float32', buffer.subarray(0, length) as Float32Array, [
      indices.length,
      ...shape,
    ]);
    const started = performance.now();
    const outputs = await session.run({ [inputName]: tensor });
    const seconds = (performance.now() - started) / 1000;
    for (const [name, output] of Object.entries(outputs)) {
      const data = output.data as ArrayLike<number | bigint>;
      const per = data.length / indices.length;
      indices.forEach((index, position) => {
        const values = Array.from({ length: per }, (_, i) => Number(data[position * per + i]));
        const result = (value[index] ?? {}) as Record<string, unknown>;
        result[name] = values.length === 1 ? values[0] : values;
        value[index] = result;
      });
    }
    return seconds;
  }

  return {
    readsFiles: true,
    async run(items: ItemsForRun): Promise<ProgramAnswer> {
      const itemErrors = new Map<string, string>();
      const value: unknown[] = Array.from({ length: items.keys.length }, () => undefined);
      let shape: number[] | undefined;
      let itemSize = 0;
      let perSlice = 1;
      let ranItems = 0;
      let ranSeconds = 0;
      // The slice being filled: its input buffer and the items in it, in order.
      let buffer: InputArray | undefined;
      let indices: number[] = [];
      try {
        for (let index = 0; index < items.keys.length; index += 1) {
          // Each item is read just before it is copied into its slice, so a large mini-batch never holds all of them.
          const feed =
            items.kind === 'rows'
              ? rowFeed(items.rows[index] ?? {})
              : fileFeed(readFile, items.paths[index] ?? '');
          const key = items.keys[index] ?? '';
          if (typeof feed === 'string') {
            itemErrors.set(key, feed);
            continue;
          }
          // A file saved with its own batch dimension of 1 ([1, 3, 48, 192]) is one item all the same.
          const dims =
            feed.shape.length === itemDims.length + 1 && feed.shape[0] === 1
              ? feed.shape.slice(1)
              : feed.shape;
          const expected = shape ?? itemDims.map((dim, axis) => dim ?? dims[axis] ?? -1);
          if (dims.length !== expected.length || dims.some((dim, axis) => dim !== expected[axis])) {
            itemErrors.set(key, shapeProblem(dims, expected, items.kind));
            continue;
          }
          if (shape === undefined) {
            shape = expected;
            itemSize = expected.reduce((product, dim) => product * dim, 1);
            sliceSize ??= new SliceSize(itemSize * elementBytes, fixedSize, modelKey);
            perSlice = sliceSize.next();
          }
          buffer ??= take(perSlice * itemSize);
          copyInto(buffer, feed.values, indices.length * itemSize);
          indices.push(index);
          if (indices.length >= perSlice) {
            ranSeconds += await runSlice(buffer, indices, shape, value);
            ranItems += indices.length;
            indices = [];
          }
        }
        if (indices.length > 0 && buffer !== undefined && shape !== undefined) {
          ranSeconds += await runSlice(buffer, indices, shape, value);
          ranItems += indices.length;
        }
        sliceSize?.record(perSlice, ranItems, ranSeconds);
      } finally {
        if (buffer !== undefined) give(buffer);
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

/** The file's values stay valid until `read` reads the next file. */
function fileFeed(read: TensorFileReader, path: string): Feed | string {
  const tensor = read(path);
  return typeof tensor === 'string' ? tensor : { shape: tensor.shape, values: tensor.data };
}

function shapeProblem(actual: number[], expected: number[], kind: 'files' | 'rows'): string {
  return kind === 'rows'
    ? `row has ${actual[0] ?? 0} numeric columns; the model input takes ${expected[0] ?? '?'}`
    : `tensor shape [${actual.join(', ')}] does not match the model input [n, ${expected.join(', ')}]`;
}
