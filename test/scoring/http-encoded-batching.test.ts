/**
 * A model that batches still has its large JSON bodies decoded on a worker: such a request runs
 * alone on that worker, while small requests keep going through the batcher.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEngine, type ScoringEngine } from '../../src/scoring/engine/index.js';
import { resolveScoringOptions } from '../../src/scoring/options.js';
import { call, linear, linearModel, startTestServer, tempDir, type TestServer } from './http-harness.js';

describe('scoring HTTP front end: large JSON bodies for a batching model', () => {
  const dir = tempDir('http-encoded-batching');
  let server: TestServer;
  let engine: ScoringEngine;

  before(async () => {
    const options = {
      models: [linearModel(dir.path)],
      maxBodyBytes: 8 * 1024 * 1024,
      execution: { inline: 'never' as const },
      batching: { enabled: true, maxBatchSize: 8, maxQueueDelayMs: 2 },
    };
    engine = await createEngine(resolveScoringOptions({ port: 0, workers: 1, ...options }).engine);
    server = await startTestServer(options, { engine });
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  it('decodes a large body on a worker and a small one on the main thread, with the same answers', async () => {
    assert.ok(engine.models()[0]!.maxBatchSize > 0, 'the model batches');
    const rows = 12_000;
    const data = Array.from({ length: rows * 3 }, (_, i) => (i % 11) - 5);
    const big = JSON.stringify({ inputs: [{ name: 'x', shape: [rows, 3], datatype: 'FP32', data }] });
    const small = JSON.stringify({
      inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: data.slice(9, 12) }],
    });
    assert.ok(big.length > 64 * 1024);

    const before = engine.engineStatistics().encodedRequests;
    const large = await call(`${server.url}/v2/models/linear/infer`, { body: big });
    assert.equal(large.status, 200, large.text);
    assert.equal(engine.engineStatistics().encodedRequests, before + 1);
    const outputs = (JSON.parse(large.text) as { outputs: { shape: number[]; data: number[] }[] }).outputs;
    assert.deepEqual(outputs[0]!.shape, [rows, 1]);
    assert.equal(outputs[0]!.data[3], linear(data.slice(9, 12)));

    const one = await call(`${server.url}/v2/models/linear/infer`, { body: small });
    assert.equal(one.status, 200, one.text);
    assert.equal(
      engine.engineStatistics().encodedRequests,
      before + 1,
      'small bodies stay on the main thread',
    );
    assert.deepEqual((JSON.parse(one.text) as { outputs: { data: number[] }[] }).outputs[0]!.data, [
      linear(data.slice(9, 12)),
    ]);
  });
});
