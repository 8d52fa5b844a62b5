import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { BatchEvent, InferResponse } from '../../src/scoring/engine.js';
import { createEngine } from '../../src/scoring/engine/index.js';
import { buildModel, writeModel } from '../fixtures/onnx-builder.js';
import { fp32, mlpModel, options, tempDir, values } from './engine-helpers.js';

/** FP32 results of one row are computed by the same kernels either way; 1e-6 allows for reordering in GEMM. */
const tolerance = 1e-6;

function rowOf(index: number): number[] {
  return [index / 10, -index / 7, (index % 5) - 2, Math.sin(index)];
}

async function scoreConcurrently(
  batching: boolean,
  dir: string,
): Promise<{
  answers: InferResponse[];
  events: BatchEvent[];
  stats: { inferenceCount: number; executionCount: number };
}> {
  const engine = await createEngine(
    options([mlpModel(dir)], {
      workers: 2,
      batching: { enabled: batching, maxBatchSize: 16, maxQueueDelayMs: 20 },
    }),
  );
  const events: BatchEvent[] = [];
  engine.onBatch((event) => events.push(event));
  try {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        engine.infer({
          model: 'mlp',
          version: undefined,
          outputs: undefined,
          inputs: { features: fp32([1, 4], rowOf(index)) },
        }),
      ),
    );
    const [stats] = engine.statistics('mlp');
    assert.ok(stats);
    return { answers, events, stats };
  } finally {
    await engine.close();
  }
}

describe('engine: dynamic batching', () => {
  const dir = tempDir('engine-batching');
  after(() => dir.remove());

  it('gives each of 50 concurrent requests the same result batched as unbatched', async () => {
    const plain = await scoreConcurrently(false, dir.path);
    const batched = await scoreConcurrently(true, dir.path);

    assert.equal(plain.stats.executionCount, 50);
    assert.equal(batched.stats.inferenceCount, 50);
    assert.ok(
      batched.stats.executionCount < batched.stats.inferenceCount,
      `executions ${batched.stats.executionCount}`,
    );
    assert.ok(batched.answers.some((answer) => answer.batchSize > 1));
    assert.equal(
      batched.events.reduce((sum, event) => sum + event.rows, 0),
      50,
    );
    assert.equal(batched.events.length, batched.stats.executionCount);

    batched.answers.forEach((answer, index) => {
      assert.deepEqual(answer.outputs.probabilities?.shape, [1, 2]);
      const expected = values(plain.answers[index]?.outputs.probabilities);
      values(answer.outputs.probabilities).forEach((value, column) => {
        assert.ok(
          Math.abs(value - (expected[column] ?? NaN)) <= tolerance,
          `row ${index} column ${column}: ${value} vs ${expected[column]}`,
        );
      });
    });
  });

  it('counts rows toward the batch limit and never stacks unlike shapes', async () => {
    const engine = await createEngine(
      options([mlpModel(dir.path)], {
        workers: 1,
        batching: { enabled: true, maxBatchSize: 4, maxQueueDelayMs: 50 },
      }),
    );
    const events: BatchEvent[] = [];
    engine.onBatch((event) => events.push(event));
    try {
      const sizes = [3, 3, 1, 2, 4, 1];
      const answers = await Promise.all(
        sizes.map((rows, index) =>
          engine.infer({
            model: 'mlp',
            version: '1',
            outputs: undefined,
            inputs: { features: fp32([rows, 4], new Array(rows * 4).fill(index)) },
          }),
        ),
      );
      answers.forEach((answer, index) =>
        assert.deepEqual(answer.outputs.probabilities?.shape, [sizes[index], 2]),
      );
      assert.ok(
        events.every((event) => event.rows <= 4),
        JSON.stringify(events),
      );
      assert.equal(
        events.reduce((sum, event) => sum + event.rows, 0),
        14,
      );
    } finally {
      await engine.close();
    }
  });

  it('takes an aborted request out of the queue at once, and it never runs', async () => {
    const engine = await createEngine(
      options([mlpModel(dir.path)], {
        workers: 1,
        batching: { enabled: true, maxBatchSize: 64, maxQueueDelayMs: 10_000 },
      }),
    );
    try {
      const request = () => ({
        model: 'mlp',
        version: undefined,
        outputs: undefined,
        inputs: { features: fp32([1, 4], [1, 2, 3, 4]) },
      });
      const first = engine.infer(request());
      const controller = new AbortController();
      const second = engine.infer({ ...request(), signal: controller.signal });
      assert.equal(engine.engineStatistics().queueDepth, 2);
      controller.abort(new Error('client went away'));
      assert.equal(engine.engineStatistics().queueDepth, 1);
      await assert.rejects(second, /client went away/);
      await first;
      const [stats] = engine.statistics('mlp');
      assert.equal(stats?.inferenceCount, 1);
      assert.equal(stats?.fail.count, 1);
      const already = AbortSignal.abort(new Error('too late'));
      await assert.rejects(engine.infer({ ...request(), signal: already }), /too late/);
    } finally {
      await engine.close();
    }
  });

  it('adds no queue delay when a worker is idle', async () => {
    const engine = await createEngine(
      options([mlpModel(dir.path)], {
        workers: 1,
        batching: { enabled: true, maxBatchSize: 64, maxQueueDelayMs: 5_000 },
      }),
    );
    try {
      const started = performance.now();
      const answer = await engine.infer({
        model: 'mlp',
        version: undefined,
        outputs: undefined,
        inputs: { features: fp32([1, 4], [1, 2, 3, 4]) },
      });
      assert.ok(performance.now() - started < 1_000, 'a lone request must not wait for maxQueueDelayMs');
      assert.ok(answer.queueMs < 1_000);
    } finally {
      await engine.close();
    }
  });

  it('stops batching a model whose outputs do not follow the batch dimension, and answers each request alone', async () => {
    // Declares y as [batch,3] but sums over the batch, so a stacked run returns one row for many requests.
    const modelDir = `${dir.path}/sum`;
    const bytes = buildModel({
      name: 'sum',
      inputs: [{ name: 'x', datatype: 'FP32', shape: ['batch', 3] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: ['batch', 3] }],
      nodes: [
        {
          opType: 'ReduceSum',
          inputs: ['x'],
          outputs: ['y'],
          attributes: { keepdims: { kind: 'int', value: 1 } },
        },
      ],
      initializers: [],
    });
    const model = {
      name: 'sum',
      version: '1',
      framework: 'onnx' as const,
      modelDir,
      modelFile: writeModel(modelDir, 'sum.onnx', bytes),
      // ONNX Runtime infers y as [1,?]; a registry signature that says [batch,3] is what misleads the batcher.
      signature: {
        inputs: [{ name: 'x', datatype: 'FP32' as const, shape: ['batch', 3] }],
        outputs: [{ name: 'y', datatype: 'FP32' as const, shape: ['batch', 3] }],
        opset: 13,
        producer: undefined,
      },
    };
    const engine = await createEngine(
      options([model], { workers: 1, batching: { enabled: true, maxBatchSize: 8, maxQueueDelayMs: 50 } }),
    );
    try {
      const rows = [
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
      ];
      const answers = await Promise.all(
        rows.map((row) =>
          engine.infer({
            model: 'sum',
            version: undefined,
            outputs: undefined,
            inputs: { x: fp32([1, 3], row) },
          }),
        ),
      );
      // ReduceSum without axes sums everything: each request alone gives the sum of its own row.
      assert.deepEqual(
        answers.map((answer) => values(answer.outputs.y)),
        [[6], [15], [24]],
      );
      assert.equal(engine.models()[0]?.maxBatchSize, 0);
      const [stats] = engine.statistics('sum');
      assert.equal(stats?.success.count, 3);
    } finally {
      await engine.close();
    }
  });
});
