import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import {
  buildAddModel,
  buildLinearModel,
  buildMlpModel,
  linearReference,
} from '../../test/fixtures/onnx-builder.js';
import { exampleModelsDir } from '../../test/fixtures/paths.js';

async function runOnce(
  model: string | Uint8Array,
  feeds: Record<string, { data: number[]; dims: number[] }>,
): Promise<Record<string, { data: number[]; dims: readonly number[] }>> {
  const session =
    typeof model === 'string'
      ? await ort.InferenceSession.create(model)
      : await ort.InferenceSession.create(model);
  try {
    const tensors = Object.fromEntries(
      Object.entries(feeds).map(([name, feed]) => [
        name,
        new ort.Tensor('float32', Float32Array.from(feed.data), feed.dims),
      ]),
    );
    const results = await session.run(tensors);
    return Object.fromEntries(
      Object.entries(results).map(([name, tensor]) => [
        name,
        { data: Array.from(tensor.data as Float32Array), dims: tensor.dims },
      ]),
    );
  } finally {
    await session.release();
  }
}

void describe('example models', () => {
  void it('the generator is deterministic: the builder gives the committed bytes', async () => {
    assert.deepEqual(
      Uint8Array.from(await readFile(join(exampleModelsDir, 'linear.onnx'))),
      buildLinearModel(),
    );
    assert.deepEqual(Uint8Array.from(await readFile(join(exampleModelsDir, 'mlp.onnx'))), buildMlpModel());
    assert.deepEqual(buildMlpModel(), buildMlpModel());
  });

  void it('linear.onnx gives the outputs computed by hand', async () => {
    const rows = [
      [1, 2, 3], // 0.5 - 2 + 6 + 0.25 = 4.75
      [0, 0, 0], // the bias alone: 0.25
      [-2, 0.5, 1.5], // -1 - 0.5 + 3 + 0.25 = 1.75
    ];
    const { y } = await runOnce(join(exampleModelsDir, 'linear.onnx'), {
      x: { data: rows.flat(), dims: [3, 3] },
    });
    assert.deepEqual(y?.dims, [3, 1]);
    assert.deepEqual(y?.data, [4.75, 0.25, 1.75]);
    assert.deepEqual(rows.map(linearReference), [4.75, 0.25, 1.75]);
  });

  void it('mlp.onnx gives probability rows that sum to 1 and differ by input', async () => {
    const features = [1, 2, 3, 4, -1, 0, 1, 0.5, 0, 0, 0, 0];
    const { probabilities } = await runOnce(join(exampleModelsDir, 'mlp.onnx'), {
      features: { data: features, dims: [3, 4] },
    });
    assert.deepEqual(probabilities?.dims, [3, 2]);
    const data = probabilities?.data ?? [];
    for (let row = 0; row < 3; row++) {
      const [p0 = NaN, p1 = NaN] = data.slice(row * 2, row * 2 + 2);
      assert.ok(p0 > 0 && p1 > 0, `row ${row}: ${p0}, ${p1}`);
      assert.ok(Math.abs(p0 + p1 - 1) < 1e-6, `row ${row} sums to ${p0 + p1}`);
    }
    assert.notEqual(data[0], data[2]);
  });

  void it('the add model sums its two inputs', async () => {
    const { sum } = await runOnce(buildAddModel(), {
      a: { data: [1, 2, 3, 4], dims: [2, 2] },
      b: { data: [0.5, -2, 10, 0], dims: [2, 2] },
    });
    assert.deepEqual(sum, { data: [1.5, 0, 13, 4], dims: [2, 2] });
  });
});
