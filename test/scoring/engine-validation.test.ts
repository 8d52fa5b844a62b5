import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InferRequest, TensorValue } from '../../src/scoring/engine.js';
import type { ScoringEngine } from '../../src/scoring/engine/index.js';
import { createEngine } from '../../src/scoring/engine/index.js';
import { buildAddModel, writeModel } from '../fixtures/onnx-builder.js';
import { fp32, linearModel, options, tempDir } from './engine-helpers.js';

describe('engine: request validation', () => {
  const dir = tempDir('engine-validation');
  let engine: ScoringEngine;
  before(async () => {
    const addDir = `${dir.path}/add`;
    engine = await createEngine(
      options([
        linearModel(dir.path),
        {
          name: 'add',
          version: '1',
          framework: 'onnx',
          modelDir: addDir,
          modelFile: writeModel(addDir, 'add.onnx', buildAddModel()),
          signature: null,
        },
      ]),
    );
  });
  after(async () => {
    await engine.close();
    dir.remove();
  });

  const linear = (inputs: Record<string, TensorValue>, extra: Partial<InferRequest> = {}): Promise<unknown> =>
    engine.infer({ model: 'linear', version: undefined, outputs: undefined, inputs, ...extra });

  async function refused(promise: Promise<unknown>, code: string, ...pieces: string[]): Promise<void> {
    await assert.rejects(promise, (error: { code: string; message: string }) => {
      assert.equal(error.code, code, error.message);
      for (const piece of pieces)
        assert.ok(error.message.includes(piece), `"${error.message}" lacks "${piece}"`);
      return true;
    });
  }

  it('names an unknown input', () =>
    refused(
      linear({ x: fp32([1, 3], [1, 2, 3]), z: fp32([1], [1]) }),
      'BAD_INPUT',
      'unknown input "z"',
      'expected "x"',
    ));
  it('names a missing input', () => refused(linear({}), 'BAD_INPUT', 'missing input "x"'));
  it('says which datatype was expected', () =>
    refused(
      linear({ x: { datatype: 'INT32', shape: [1, 3], data: new Int32Array(3) } }),
      'BAD_INPUT',
      'input "x": expected datatype FP32, got INT32',
    ));
  it('says which shape was expected (fixed dimension)', () =>
    refused(
      linear({ x: fp32([2, 4], new Array(8).fill(0)) }),
      'BAD_INPUT',
      'input "x": expected shape [-1,3], got [2,4]',
    ));
  it('says which shape was expected (rank)', () =>
    refused(linear({ x: fp32([3], [1, 2, 3]) }), 'BAD_INPUT', 'expected shape [-1,3], got [3]'));
  it('checks the data length against the shape', () =>
    refused(
      linear({ x: fp32([2, 3], [1, 2, 3, 4, 5]) }),
      'BAD_INPUT',
      'input "x": shape [2,3] holds 6 elements, got 5',
    ));
  it('checks the data container against the datatype', () =>
    refused(
      linear({ x: { datatype: 'FP32', shape: [1, 3], data: new Float64Array(3) } }),
      'BAD_INPUT',
      'FP32 data must be Float32Array, got Float64Array',
    ));
  it('checks that a shared dynamic dimension agrees across inputs', () =>
    refused(
      engine.infer({
        model: 'add',
        version: undefined,
        outputs: undefined,
        inputs: { a: fp32([1, 2], [1, 2]), b: fp32([2, 2], [1, 2, 3, 4]) },
      }),
      'BAD_INPUT',
      'dimension "batch" is 2',
    ));
  it('names an unknown output', () =>
    refused(
      linear({ x: fp32([1, 3], [1, 2, 3]) }, { outputs: ['nope'] }),
      'BAD_INPUT',
      'unknown output "nope"',
      'expected "y"',
    ));
  it('answers NOT_FOUND for an unknown model or version', async () => {
    await refused(
      engine.infer({ model: 'missing', version: undefined, outputs: undefined, inputs: {} }),
      'NOT_FOUND',
      'model "missing" is not loaded',
    );
    await refused(
      linear({ x: fp32([1, 3], [1, 2, 3]) }, { version: '9' }),
      'NOT_FOUND',
      'model "linear" version 9 is not loaded',
    );
  });
  it('answers NOT_FOUND for runScript without a script', () =>
    refused(
      engine.runScript({ model: 'linear', body: {}, raw: undefined }),
      'NOT_FOUND',
      'no scoring script',
    ));
  it('refuses invalid options before starting anything', () =>
    refused(createEngine(options([], { workers: 0 })), 'INVALID_SPEC', 'workers must be an integer >= 1'));
});
