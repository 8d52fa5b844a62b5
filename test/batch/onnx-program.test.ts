import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadOnnxProgram } from '../../src/batch/runtime/onnx-program.js';
import { SliceSize } from '../../src/batch/runtime/slice-size.js';
import { buildLinearModel, writeModel } from '../fixtures/onnx-builder.js';
import { linear } from './helpers.js';

test('mini-batches run at once on one built-in program each get their own results', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-onnx-program-'));
  const session = await ort.InferenceSession.create(writeModel(dir, 'linear.onnx', buildLinearModel()));
  const program = await loadOnnxProgram(session);
  try {
    const miniBatch = (start: number) => {
      const rows = Array.from({ length: 5 }, (_, i) => ({ x1: start + i, x2: 0.5, x3: -1 }));
      return { kind: 'rows' as const, keys: rows.map((_, i) => `r${start + i}`), rows };
    };
    // A cluster worker with concurrency > 1 does this: the runs interleave at every await. The
    // second round runs on buffers the first one left for reuse.
    for (let round = 0; round < 2; round += 1) {
      const answers = await Promise.all(
        [0, 100, 200].map((start, index) => program.run(miniBatch(start), { index, attempt: 1 })),
      );
      answers.forEach((answer, position) => {
        const start = position * 100;
        assert.deepEqual(
          answer.value,
          Array.from({ length: 5 }, (_, i) => ({ y: linear(start + i, 0.5, -1) })),
        );
      });
    }
  } finally {
    await program.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the slice size is tried out on the first mini-batches, then the fastest is kept', () => {
  const itemBytes = 110_592; // one 3x48x192 float32 image: candidates of 4, 9 and 18 per run
  const sizes = new SliceSize(itemBytes, undefined);
  const perItemSeconds = new Map([
    [4, 0.0014],
    [9, 0.0013],
    [18, 0.0012],
  ]);
  const tried: number[] = [];
  for (let miniBatch = 0; miniBatch < 24; miniBatch += 1) {
    const size = sizes.next();
    tried.push(size);
    sizes.record(size, 32, 32 * (perItemSeconds.get(size) ?? 1));
  }
  assert.deepEqual(tried.slice(0, 6), [4, 9, 18, 4, 9, 18]);
  assert.equal(sizes.chosen, 18);
  assert.equal(sizes.next(), 18);
  // BERTH_ORT_BATCH_SIZE is used as it is; an item larger than every candidate runs alone.
  assert.equal(new SliceSize(itemBytes, 32).next(), 32);
  assert.equal(new SliceSize(8 * 1024 * 1024, undefined).next(), 1);
});

test('a later program of the same model and item size starts with the slice size chosen before', () => {
  const itemBytes = 3 * 48 * 192 * 4;
  const model = `/models/${Math.random()}/cls.onnx`;
  const first = new SliceSize(itemBytes, undefined, model);
  for (let miniBatch = 0; miniBatch < 24; miniBatch += 1) {
    const size = first.next();
    // 9 per run is the fastest here.
    first.record(size, 32, size === 9 ? 0.03 : 0.05);
  }
  assert.equal(first.chosen, 9);
  assert.equal(new SliceSize(itemBytes, undefined, model).next(), 9, 'no candidates tried again');
  assert.equal(
    new SliceSize(itemBytes, undefined, `${model}.other`).chosen,
    undefined,
    'another model tries them',
  );
  assert.equal(
    new SliceSize(itemBytes * 2, undefined, model).chosen,
    undefined,
    'another item size tries them',
  );
  assert.equal(new SliceSize(itemBytes, 3, model).next(), 3, 'a size the user set still wins');
});
