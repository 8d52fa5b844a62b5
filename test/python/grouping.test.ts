/**
 * Requests that wait for a busy Python process travel to it together, in one message, when the
 * script has no run_batch(): each still gets its own run() call, its own answer (a failure answers
 * that request alone) and its own request id on its log lines. A lone request goes alone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import { pythonEnvironment } from '../../src/scoring/runtimes/python/layout.js';
import { pythonRoot } from '../../src/scoring/runtimes/python/index.js';
import { PythonPool } from '../../src/scoring/runtimes/python/pool.js';
import type { ModelToServe } from '../../src/scoring/engine.js';
import type { Logger } from '../../src/scoring/runtimes/logger.js';
import { fixtures, python, pythonMissing } from './helpers.js';

interface Line {
  message: string;
  requestId: unknown;
}

describe('grouped run() calls for a script without run_batch()', { skip: pythonMissing }, () => {
  let dir: string;
  let pool: PythonPool;
  const lines: Line[] = [];
  const record = (message: string, fields?: Record<string, unknown>): void => {
    lines.push({ message, requestId: fields?.requestId });
  };
  const logger: Logger = { info: record, warn: record, error: record };
  const script = join(fixtures, 'grouping', 'score.py');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-python-grouping-'));
    writeFileSync(join(dir, 'README'), 'no model file');
    const models: ModelToServe[] = [
      { name: 'g', version: '1', framework: 'custom', modelDir: dir, modelFile: undefined, signature: null },
    ];
    ({ pool } = await PythonPool.create({
      size: 1,
      logger,
      process: {
        python,
        workerScript: `${pythonRoot}berth_worker.py`,
        cwd: dir,
        env: pythonEnvironment(models, script),
        startTimeoutMs: 60_000,
        logger,
      },
    }));
    pool.groupRuns(8);
  });
  after(async () => {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (body: unknown, id: string) =>
    pool.run({ type: 'run', requestId: id, body: JSON.stringify(body) }, undefined, id);

  it('sends the requests waiting behind a busy process in one message, each to its own run()', async () => {
    const before = { ...pool.traffic };
    const holding = run({ x: 100, hold: 1 }, 'hold');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const values = [1, 2, -3, 4, 5];
    const settled = await Promise.allSettled(values.map((x) => run({ x }, `r${x}`)));
    const held = await holding;
    assert.equal(JSON.parse(held.body.toString()).y, 200);
    const calls: number[] = [];
    settled.forEach((outcome, index) => {
      const x = values[index]!;
      if (x < 0) {
        assert.equal(outcome.status, 'rejected');
        const error = outcome.reason as Error;
        assert.ok(hasErrorCode(error, 'RUN_FAILED'), String(error));
        assert.match(error.message, /ValueError: negative x: -3/);
        return;
      }
      assert.equal(outcome.status, 'fulfilled', String((outcome as PromiseRejectedResult).reason));
      const result = outcome.value;
      const answer = JSON.parse(result.body.toString()) as { y: number; calls: number };
      assert.equal(answer.y, 2 * x);
      assert.equal(result.batchSize, 1, 'a grouped run() call is one execution');
      calls.push(answer.calls);
    });
    // Six requests, two messages: the held one, then the five that waited for it.
    assert.deepEqual(
      {
        messages: pool.traffic.messages - before.messages,
        requests: pool.traffic.requests - before.requests,
      },
      { messages: 2, requests: 6 },
    );
    assert.deepEqual(
      calls,
      [...calls].sort((a, b) => a - b),
      'run() was called in arrival order',
    );
    for (const x of values) {
      assert.ok(
        lines.some((line) => line.message === `run x=${x}` && line.requestId === `r${x}`),
        `the log line of x=${x} carries its own request id: ${JSON.stringify(lines)}`,
      );
    }
  });

  it('sends a lone request alone', async () => {
    const before = { ...pool.traffic };
    const result = await run({ x: 7 }, 'alone');
    assert.equal(JSON.parse(result.body.toString()).y, 14);
    assert.equal(pool.traffic.messages - before.messages, 1);
  });
});
