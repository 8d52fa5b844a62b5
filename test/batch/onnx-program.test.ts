import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadOnnxProgram } from '../../src/batch/runtime/onnx-program.js';
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
