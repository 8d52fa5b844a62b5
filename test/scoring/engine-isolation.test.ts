import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createEngine } from '../../src/scoring/engine/index.js';
import { fp32, linearModel, options, tempDir, values, writeScript } from './engine-helpers.js';

const crashingScript = `
export function run(input) {
  if (input.crash === 'exit') process.exit(1);
  if (input.crash === 'memory') { const hog = []; for (;;) hog.push(new Array(100000).fill(Math.random())); }
  if (input.crash === 'async') { setTimeout(() => { throw new Error('thrown from a timer'); }, 0); return new Promise(() => {}); }
  if (input.sleepMs) return new Promise((resolve) => setTimeout(() => resolve({ slept: input.sleepMs }), input.sleepMs));
  return { ok: true };
}
`;

describe('engine: isolation and lifecycle', () => {
  const dir = tempDir('engine-isolation');
  after(() => dir.remove());

  it('replaces a worker that calls process.exit, answers its request WORKER_CRASHED, and keeps serving', async () => {
    const script = writeScript(dir.path, 'crash.mjs', crashingScript);
    const engine = await createEngine({
      ...options([linearModel(dir.path)], { workers: 1, workerMaxOldGenerationMb: 48 }),
      scoringScript: script,
    });
    try {
      await assert.rejects(
        engine.runScript({ model: 'linear', body: { crash: 'exit' }, raw: undefined }),
        (error: { code: string; message: string }) => {
          assert.equal(error.code, 'WORKER_CRASHED');
          assert.match(error.message, /exited with code 1/);
          return true;
        },
      );
      // With one worker the next request waits for the replacement to start, then succeeds.
      assert.deepEqual((await engine.runScript({ model: 'linear', body: {}, raw: undefined })).body, {
        ok: true,
      });
      const inferred = await engine.infer({
        model: 'linear',
        version: undefined,
        outputs: undefined,
        inputs: { x: fp32([1, 3], [1, 1, 1]) },
      });
      assert.deepEqual(values(inferred.outputs.y), [1.75]);
      assert.equal(engine.engineStatistics().workerRestarts, 1);

      await assert.rejects(
        engine.runScript({ model: 'linear', body: { crash: 'memory' }, raw: undefined }),
        (error: { code: string; message: string }) => {
          assert.equal(error.code, 'MEMORY_LIMIT');
          assert.match(error.message, /out of memory \(limit 48 MB of heap per worker/);
          return true;
        },
      );
      await assert.rejects(
        engine.runScript({ model: 'linear', body: { crash: 'async' }, raw: undefined }),
        (error: { code: string; message: string }) => {
          assert.equal(error.code, 'WORKER_CRASHED');
          assert.match(error.message, /thrown from a timer/);
          return true;
        },
      );
      assert.deepEqual((await engine.runScript({ model: 'linear', body: {}, raw: undefined })).body, {
        ok: true,
      });
      assert.equal(engine.engineStatistics().workerRestarts, 3);
      assert.deepEqual(engine.health().replaced, { timeout: 0, crash: 1, memory: 1, exit: 1 });
      assert.equal(engine.health().lastFailure?.cause, 'crash');
      assert.equal(engine.health().live, true);
    } finally {
      await engine.close();
    }
  });

  it('answers an aborted running call with the signal reason and drops the late result', async () => {
    const script = writeScript(dir.path, 'sleep.mjs', crashingScript);
    const engine = await createEngine({ ...options([linearModel(dir.path)]), scoringScript: script });
    try {
      const started = Date.now();
      const timeout = AbortSignal.timeout(30);
      await assert.rejects(
        engine.runScript({ model: 'linear', body: { sleepMs: 300 }, raw: undefined, signal: timeout }),
        { name: 'TimeoutError' },
      );
      assert.ok(Date.now() - started < 250);
    } finally {
      await engine.close();
    }
  });

  it('finishes in-flight and queued work on close, then refuses new work', async () => {
    const script = writeScript(dir.path, 'drain.mjs', crashingScript);
    const engine = await createEngine({
      ...options([linearModel(dir.path)], {
        workers: 1,
        batching: { enabled: true, maxBatchSize: 8, maxQueueDelayMs: 1_000 },
      }),
      scoringScript: script,
    });
    const slow = engine.runScript({ model: 'linear', body: { sleepMs: 150 }, raw: undefined });
    const inferences = Array.from({ length: 5 }, (_, index) =>
      engine.infer({
        model: 'linear',
        version: undefined,
        outputs: undefined,
        inputs: { x: fp32([1, 3], [index, 0, 0]) },
      }),
    );
    const closing = engine.close();
    assert.equal(engine.isReady(), false);
    await assert.rejects(
      engine.infer({
        model: 'linear',
        version: undefined,
        outputs: undefined,
        inputs: { x: fp32([1, 3], [0, 0, 0]) },
      }),
      {
        code: 'SHUTTING_DOWN',
      },
    );
    assert.deepEqual((await slow).body, { slept: 150 });
    const answers = await Promise.all(inferences);
    assert.deepEqual(
      answers.map((answer) => values(answer.outputs.y)[0]),
      [0.25, 0.75, 1.25, 1.75, 2.25],
    );
    await closing;
    assert.equal(engine.state, 'closed');
    await engine.close();
  });
});
