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
 * The model runs on the mini-batch in slices of a few items rather than all at once: on a CPU a
 * run whose working set outgrows the core's cache scores fewer items per second (PP-OCR's
 * classifier on one Xeon core: ~1,100 images/s at 4 per run, ~720 at 32). A slice holds as many
 * items as fit in 512 KiB of input, at least one; `BERTH_ORT_BATCH_SIZE` (an environment variable
 * of the worker, e.g. from the deployment's `environment_variables`) sets the count instead.
 */
import * as ort from 'onnxruntime-node';
import { BerthError } from '../../core/errors.js';
import type { BatchProgram, ItemsForRun, ProgramAnswer } from './program.js';
import { readTensorFile } from './tensor-file.js';

type Feed = { shape: number[]; values: ArrayLike<number> };
type InputArray = Float32Array | Float64Array | Int32Array | BigInt64Array;

/** The input's element type, as a typed array each slice is copied into once. */
const arrayOf: Record<string, (length: number) => InputArray> = {
  float32: (length) => new Float32Array(length),
  float64: (length) => new Float64Array(length),
  int32: (length) => new Int32Array(length),
  int64: (length) => new BigInt64Array(length),
};

/** Input bytes per run when BERTH_ORT_BATCH_SIZE is unset: a working set that stays in a core's cache. */
const sliceBytes = 512 * 1024;
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
  const { name: inputName, type: inputType } = input;
  const makeArray = allocate;
  const elementBytes = allocate(1).BYTES_PER_ELEMENT;
  const chosenSize = Number(process.env.BERTH_ORT_BATCH_SIZE);
  const sliceItems = (itemSize: number): number =>
    Number.isInteger(chosenSize) && chosenSize > 0
      ? chosenSize
      : Math.max(1, Math.floor(sliceBytes / (itemSize * elementBytes)));

  // Input buffers kept for later slices (ONNX Runtime reads one during run() only). A slice takes
  // one that no other slice holds: a cluster worker may run several mini-batches of one program at
  // once, and their runs interleave. A shorter slice uses the front of a buffer.
  const spare: InputArray[] = [];

  /** Runs the model on one slice of accepted items and stores each item's outputs in `value`. */
  async function runSlice(slice: Accepted[], shape: number[], value: unknown[]): Promise<void> {
    const itemSize = shape.reduce((product, dim) => product * dim, 1);
    const length = slice.length * itemSize;
    const fits = spare.findIndex((buffer) => buffer.length >= length);
    const buffer = (fits >= 0 ? spare.splice(fits, 1)[0] : undefined) ?? makeArray(length);
    let outputs: ort.InferenceSession.ReturnType;
    try {
      const batch = buffer.subarray(0, length);
      slice.forEach(({ feed }, position) => copyInto(batch, feed.values, position * itemSize));
      const tensor = new ort.Tensor(inputType as 'float32', batch as Float32Array, [slice.length, ...shape]);
      outputs = await session.run({ [inputName]: tensor });
    } finally {
      if (spare.length < maxSpareBuffers) spare.push(buffer);
    }
    for (const [name, output] of Object.entries(outputs)) {
      const data = output.data as ArrayLike<number | bigint>;
      const per = data.length / slice.length;
      slice.forEach(({ index }, position) => {
        const values = Array.from({ length: per }, (_, i) => Number(data[position * per + i]));
        const result = (value[index] ?? {}) as Record<string, unknown>;
        result[name] = values.length === 1 ? values[0] : values;
        value[index] = result;
      });
    }
  }

  return {
    readsFiles: true,
    async run(items: ItemsForRun): Promise<ProgramAnswer> {
      const itemErrors = new Map<string, string>();
      const value: unknown[] = Array.from({ length: items.keys.length }, () => undefined);
      let shape: number[] | undefined;
      let perSlice = 1;
      let slice: Accepted[] = [];
      for (let index = 0; index < items.keys.length; index += 1) {
        // Each file is read just before its slice runs, so a large mini-batch never holds all of them.
        const feed =
          items.kind === 'rows' ? rowFeed(items.rows[index] ?? {}) : fileFeed(items.paths[index] ?? '');
        const key = items.keys[index] ?? '';
        if (typeof feed === 'string') {
          itemErrors.set(key, feed);
          continue;
        }
        // A file saved with its own batch dimension of 1 ([1, 3, 48, 192]) is one item all the same.
        const dims =
          feed.shape.length === itemDims.length + 1 && feed.shape[0] === 1 ? feed.shape.slice(1) : feed.shape;
        const expected = shape ?? itemDims.map((dim, axis) => dim ?? dims[axis] ?? -1);
        if (dims.length !== expected.length || dims.some((dim, axis) => dim !== expected[axis])) {
          itemErrors.set(key, shapeProblem(dims, expected, items.kind));
          continue;
        }
        if (shape === undefined) {
          shape = expected;
          perSlice = sliceItems(expected.reduce((product, dim) => product * dim, 1));
        }
        slice.push({ index, feed });
        if (slice.length >= perSlice) {
          await runSlice(slice, shape, value);
          slice = [];
        }
      }
      if (slice.length > 0 && shape !== undefined) await runSlice(slice, shape, value);
      return { value, itemErrors };
    },
    close: () => session.release(),
  };
}

type Accepted = { index: number; feed: Feed };

function rowFeed(row: Record<string, unknown>): Feed {
  const values = Object.values(row).filter((value): value is number => typeof value === 'number');
  return { shape: [values.length], values };
}

function fileFeed(path: string): Feed | string {
  const tensor = readTensorFile(path);
  return typeof tensor === 'string' ? tensor : { shape: tensor.shape, values: tensor.data };
}

function shapeProblem(actual: number[], expected: number[], kind: 'files' | 'rows'): string {
  return kind === 'rows'
    ? `row has ${actual[0] ?? 0} numeric columns; the model input takes ${expected[0] ?? '?'}`
    : `tensor shape [${actual.join(', ')}] does not match the model input [n, ${expected.join(', ')}]`;
}
