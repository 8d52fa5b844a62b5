import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ScoringEngine } from '../../src/scoring/engine/index.js';
import { createEngine, resolveWorkerCount } from '../../src/scoring/engine/index.js';
import { buildAddModel, linearReference, writeModel } from '../fixtures/onnx-builder.js';
import { ppocrClassifierPath } from '../fixtures/paths.js';
import {
  fp32,
  identityModel,
  linearModel,
  linearSignature,
  mlpModel,
  options,
  tempDir,
  values,
} from './engine-helpers.js';

describe('engine: ONNX inference', () => {
  const dir = tempDir('engine-infer');
  let engine: ScoringEngine;

  before(async () => {
    const addDir = `${dir.path}/add`;
    engine = await createEngine(
      options(
        [
          linearModel(dir.path),
          mlpModel(dir.path),
          {
            name: 'add',
            version: '1',
            framework: 'onnx',
            modelDir: addDir,
            modelFile: writeModel(addDir, 'add.onnx', buildAddModel()),
            signature: null,
          },
          identityModel(dir.path),
        ],
        { workers: 2 },
      ),
    );
  });
  after(async () => {
    await engine.close();
    dir.remove();
  });

  it('computes y = x·[0.5,-1,2] + 0.25 by hand', async () => {
    const answer = await engine.infer({
      model: 'linear',
      version: undefined,
      outputs: undefined,
      inputs: { x: fp32([2, 3], [1, 2, 3, -1, 0, 0.5]) },
    });
    assert.equal(answer.model, 'linear');
    assert.equal(answer.version, '1');
    assert.deepEqual(answer.outputs.y?.shape, [2, 1]);
    assert.deepEqual(values(answer.outputs.y), [4.75, 0.75]);
    assert.equal(linearReference([1, 2, 3]), 4.75);
    assert.equal(answer.batchSize, 1);
  });

  it('reads a signature from the session when the registry gave none', () => {
    const mlp = engine.models().find((model) => model.name === 'mlp');
    assert.deepEqual(mlp?.signature?.inputs, [{ name: 'features', datatype: 'FP32', shape: ['batch', 4] }]);
    assert.equal(engine.models().find((model) => model.name === 'linear')?.signature, linearSignature);
    assert.ok(engine.isReady());
  });

  it('runs a two-input model and returns only the outputs asked for', async () => {
    const answer = await engine.infer({
      model: 'add',
      version: '1',
      outputs: ['sum'],
      inputs: { a: fp32([1, 2], [1, 2]), b: fp32([1, 2], [10, 20]) },
    });
    assert.deepEqual(values(answer.outputs.sum), [11, 22]);
  });

  it('round-trips INT64, BOOL, BYTES and FP16 through a worker', async () => {
    const answer = await engine.infer({
      model: 'identity',
      version: undefined,
      outputs: undefined,
      inputs: {
        i64: { datatype: 'INT64', shape: [1, 2], data: new BigInt64Array([-5n, 9007199254740993n]) },
        flag: { datatype: 'BOOL', shape: [1], data: new Uint8Array([1]) },
        text: { datatype: 'BYTES', shape: [1], data: ['héllo'] },
        half: { datatype: 'FP16', shape: [1], data: new Uint16Array([0x3c00]) },
      },
    });
    assert.deepEqual(answer.outputs.i64_out?.data, new BigInt64Array([-5n, 9007199254740993n]));
    assert.equal(answer.outputs.flag_out?.datatype, 'BOOL');
    assert.deepEqual(Array.from(answer.outputs.flag_out?.data as Uint8Array), [1]);
    assert.deepEqual(answer.outputs.text_out?.data, ['héllo']);
    assert.deepEqual(Array.from(answer.outputs.half_out?.data as Uint16Array), [0x3c00]);
  });

  it('keeps statistics per model version', async () => {
    await engine.infer({
      model: 'linear',
      version: '1',
      outputs: undefined,
      inputs: { x: fp32([3, 3], new Array(9).fill(1)) },
    });
    const [stats] = engine.statistics('linear', '1');
    assert.ok(stats);
    assert.ok(stats.inferenceCount >= 3);
    assert.ok(stats.success.count >= 1 && stats.success.ns > 0);
    assert.ok(stats.compute.ns > 0 && stats.queue.count === stats.success.count);
    assert.ok(stats.lastInference > 0);
    assert.deepEqual(engine.engineStatistics(), {
      workers: 2,
      readyWorkers: 2,
      workerRestarts: 0,
      queueDepth: 0,
      inFlight: 0,
      encodedRequests: 0,
    });
  });

  it('loads a new version, serves it by default, keeps the old one by number, and unloads', async () => {
    await engine.load(linearModel(dir.path, '2'));
    assert.deepEqual(
      engine
        .models()
        .filter((model) => model.name === 'linear')
        .map((model) => model.version)
        .sort(),
      ['1', '2'],
    );
    const latest = await engine.infer({
      model: 'linear',
      version: undefined,
      outputs: undefined,
      inputs: { x: fp32([1, 3], [0, 0, 0]) },
    });
    assert.equal(latest.version, '2');
    await engine.unload('linear', '2');
    const back = await engine.infer({
      model: 'linear',
      version: undefined,
      outputs: undefined,
      inputs: { x: fp32([1, 3], [0, 0, 0]) },
    });
    assert.equal(back.version, '1');
    await assert.rejects(engine.unload('linear', '2'), { code: 'NOT_FOUND' });
  });

  it('refuses a model that does not load, and keeps serving', async () => {
    const bad = `${dir.path}/bad`;
    await assert.rejects(
      engine.load({
        name: 'bad',
        version: '1',
        framework: 'onnx',
        modelDir: bad,
        modelFile: writeModel(bad, 'x.onnx', new Uint8Array([1, 2, 3])),
        signature: null,
      }),
      (error: { code: string; message: string }) =>
        error.code === 'INVALID_MODEL' && error.message.includes('x.onnx'),
    );
    assert.equal(
      engine.models().some((model) => model.name === 'bad'),
      false,
    );
  });
});

describe('engine: real models and providers', () => {
  it('serves the PP-OCR classifier (dynamic spatial dims) and falls back to CPU when CUDA is missing', async () => {
    const model = {
      name: 'cls',
      version: '1',
      framework: 'onnx' as const,
      modelDir: dirname(ppocrClassifierPath),
      modelFile: ppocrClassifierPath,
      signature: null,
    };
    const engine = await createEngine({
      ...options([model]),
      onnx: {
        intraOpThreads: 1,
        interOpThreads: 1,
        graphOptimizationLevel: 'all',
        executionProviders: ['cuda', 'cpu'],
      },
    });
    try {
      const pixels = new Float32Array(2 * 3 * 48 * 192).map((_, index) => (index % 255) / 255);
      const answer = await engine.infer({
        model: 'cls',
        version: undefined,
        outputs: undefined,
        inputs: { x: { datatype: 'FP32', shape: [2, 3, 48, 192], data: pixels } },
      });
      const output = Object.values(answer.outputs)[0];
      assert.deepEqual(output?.shape, [2, 2]);
      const [a = 0, b = 0, c = 0, d = 0] = values(output);
      assert.ok(Math.abs(a + b - 1) < 1e-4 && Math.abs(c + d - 1) < 1e-4, 'softmax rows sum to 1');
    } finally {
      await engine.close();
    }
  });
});

describe('resolveWorkerCount', () => {
  it('keeps workers × intra-op threads near the core count, at least 1', () => {
    assert.equal(resolveWorkerCount(16, 1), 16);
    assert.equal(resolveWorkerCount(16, 4), 4);
    assert.equal(resolveWorkerCount(16, 5), 3);
    assert.equal(resolveWorkerCount(2, 8), 1);
    assert.equal(resolveWorkerCount(0, 0), 1);
  });
});
