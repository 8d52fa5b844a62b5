/**
 * Large JSON bodies for a model on workers are decoded on a worker thread (engine.inferEncoded).
 * Every answer, good or bad, must match the main-thread path's byte for byte: each case is sent
 * twice, with the worker path switched off and on, and the engine's counter shows which ran.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEngine, type ScoringEngine } from '../../src/scoring/engine/index.js';
import { resolveScoringOptions } from '../../src/scoring/options.js';
import { call, linear, linearModel, startTestServer, tempDir, type TestServer } from './http-harness.js';

const PAD = ' '.repeat(70 * 1024);

describe('scoring HTTP front end: large JSON bodies decoded on a worker', () => {
  const dir = tempDir('http-encoded');
  let server: TestServer;
  let engine: ScoringEngine;
  let encodedOn = true;

  before(async () => {
    const options = {
      models: [linearModel(dir.path)],
      maxBodyBytes: 8 * 1024 * 1024,
      execution: { inline: 'never' as const },
    };
    engine = await createEngine(resolveScoringOptions({ port: 0, workers: 1, ...options }).engine);
    const accepts = engine.acceptsEncoded.bind(engine);
    engine.acceptsEncoded = (model, version, bytes) => encodedOn && accepts(model, version, bytes);
    server = await startTestServer(options, { engine });
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  /** Sends `body` on both paths; answers the worker path's reply after checking the two agree. */
  async function both(path: string, body: string): Promise<{ status: number; text: string }> {
    encodedOn = false;
    const before = engine.engineStatistics().encodedRequests;
    const main = await call(`${server.url}${path}`, { body });
    assert.equal(engine.engineStatistics().encodedRequests, before, 'main-thread path');
    encodedOn = true;
    const worker = await call(`${server.url}${path}`, { body });
    assert.equal(
      engine.engineStatistics().encodedRequests,
      before + 1,
      `worker path for ${body.slice(0, 80)}`,
    );
    assert.equal(worker.status, main.status, `${worker.text} / ${main.text}`);
    assert.equal(worker.text, main.text);
    return { status: worker.status, text: worker.text };
  }

  const v2 = '/v2/models/linear/infer';
  const x = (shape: number[], data: unknown, extra: Record<string, unknown> = {}): string =>
    JSON.stringify({ inputs: [{ name: 'x', shape, datatype: 'FP32', data, ...extra }] }) + PAD;

  it('answers a large valid v2 request like a small one, on a worker', async () => {
    const rows = 12_000;
    const data = Array.from({ length: rows * 3 }, (_, i) => (i % 7) - 3);
    const body = JSON.stringify({
      id: 'big-1',
      inputs: [{ name: 'x', shape: [rows, 3], datatype: 'FP32', data }],
      outputs: [{ name: 'y' }],
    });
    assert.ok(body.length > 64 * 1024);
    const stats = () => engine.statistics('linear', '1')[0]!;
    const beforeStats = stats();
    const answer = await both(v2, body);
    assert.equal(answer.status, 200);
    const parsed = JSON.parse(answer.text) as { id: string; outputs: { shape: number[]; data: number[] }[] };
    assert.equal(parsed.id, 'big-1');
    assert.deepEqual(parsed.outputs[0]!.shape, [rows, 1]);
    assert.equal(parsed.outputs[0]!.data[5], linear(data.slice(15, 18)));
    const afterStats = stats();
    assert.equal(afterStats.executionCount - beforeStats.executionCount, 2);
    assert.equal(afterStats.inferenceCount - beforeStats.inferenceCount, 2 * rows);
    assert.equal(afterStats.success.count - beforeStats.success.count, 2);
    assert.equal(afterStats.compute.count - beforeStats.compute.count, 2);
    assert.equal(engine.engineStatistics().inFlight, 0);
  });

  it('answers binary outputs asked for in a large body', async () => {
    const body =
      JSON.stringify({
        inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }],
        parameters: { binary_data_output: true },
      }) + PAD;
    assert.equal((await both(v2, body)).status, 200);
  });

  it('keeps small bodies on the main thread', async () => {
    const before = engine.engineStatistics().encodedRequests;
    const answer = await call(`${server.url}${v2}`, { body: x([1, 3], [1, 2, 3]).trimEnd() });
    assert.equal(answer.status, 200);
    assert.equal(engine.engineStatistics().encodedRequests, before);
  });

  const bad: [string, string][] = [
    ['wrong shape', x([1, 4], [1, 2, 3, 4])],
    [
      'wrong datatype',
      JSON.stringify({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'INT32', data: [1, 2, 3] }] }) + PAD,
    ],
    [
      'missing input',
      JSON.stringify({ inputs: [{ name: 'z', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }) + PAD,
    ],
    [
      'extra input',
      JSON.stringify({
        inputs: [
          { name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
          { name: 'z', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
        ],
      }) + PAD,
    ],
    ['non-numeric', x([1, 3], [1, 'two', 3])],
    ['null element', x([1, 3], [1, null, 3])],
    ['length mismatch', x([2, 3], [1, 2, 3])],
    ['no inputs', JSON.stringify({ inputs: [] }) + PAD],
    [
      'unknown output',
      JSON.stringify({
        inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }],
        outputs: [{ name: 'nope' }],
      }) + PAD,
    ],
    ['not JSON', `{"inputs": [${PAD}`],
    ['not an object', `[1, 2, 3]${PAD}`],
  ];
  for (const [name, body] of bad) {
    it(`answers a large body with ${name} exactly as the main thread does`, async () => {
      const answer = await both(v2, body);
      assert.equal(answer.status, 400, answer.text);
    });
  }

  it('scores large /score bodies on a worker, good and bad', async () => {
    assert.equal((await both('/score', JSON.stringify({ data: [[1, 2, 3]] }) + PAD)).status, 200);
    assert.equal((await both('/score', JSON.stringify({ data: [[1, 2]] }) + PAD)).status, 400);
    assert.equal((await both('/score', JSON.stringify({ data: [[1, 'x', 3]] }) + PAD)).status, 400);
    assert.equal((await both('/score', JSON.stringify({ inputs: { z: [[1, 2, 3]] } }) + PAD)).status, 400);
  });

  it('refuses an aborted request before it reaches a worker', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await assert.rejects(
      engine.inferEncoded({
        model: 'linear',
        version: '1',
        format: 'v2-json',
        body: new TextEncoder().encode(x([1, 3], [1, 2, 3])),
        signal: controller.signal,
      }),
      /gone/,
    );
  });
});
