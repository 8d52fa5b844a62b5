/**
 * Dynamic batching and data collection for a Python script that defines run_batch(): requests that
 * gather while the process is busy share one call, each gets its own answer (a failure in the list
 * fails that request alone), and with a collection folder every answered request is written as a
 * JSON line with its request and answer.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveScoringOptions } from '../../src/scoring/options.js';
import { startScoringServer, type ScoringServerHandle } from '../../src/scoring/server.js';
import { send } from '../helpers/http.js';
import { waitFor } from '../targets/helpers.js';
import { fixtures, pythonMissing } from './helpers.js';

interface Answer {
  y: number;
  batch: number;
}

describe('a Python script that accepts a batch', { skip: pythonMissing }, () => {
  let dir: string;
  let collected: string;
  let server: ScoringServerHandle;
  let url: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-python-batching-'));
    collected = join(dir, 'collected');
    writeFileSync(join(dir, 'README'), 'no model file');
    server = await startScoringServer(
      resolveScoringOptions({
        port: 0,
        workers: 1,
        requestTimeoutMs: 30_000,
        logLevel: 'silent',
        batching: { enabled: true, maxBatchSize: 8 },
        dataCollection: { dir: collected, samplingRate: 1 },
        scoringScript: join(fixtures, 'batching', 'score.py'),
        models: [{ name: 'doubler', version: 1, framework: 'custom', modelDir: dir, signature: null }],
      }),
    );
    await server.ready;
    url = `http://127.0.0.1:${server.httpPort}`;
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gathers the requests that wait behind a busy process into one run_batch() call', async () => {
    // The first call holds the only process for 2 s; the 8 sent meanwhile wait for it together.
    const holding = send(`${url}/score`, { body: { x: 100, hold: 2 } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const values = [1, 2, 3, -4, 5, 6, 7, 8];
    const answers = await Promise.all(values.map((x) => send(`${url}/score`, { body: { x } })));
    const held = await holding;
    assert.equal(held.status, 200, held.body);
    assert.equal((JSON.parse(held.body) as Answer).y, 200);
    answers.forEach((answer, index) => {
      const x = values[index]!;
      if (x < 0) {
        assert.equal(answer.status, 500, answer.body);
        assert.equal(answer.headers['x-ms-run-function-failed'], 'True');
        assert.match(answer.body, /ValueError: negative x: -4/);
        return;
      }
      assert.equal(answer.status, 200, answer.body);
      assert.equal((JSON.parse(answer.body) as Answer).y, 2 * x);
    });
    const sizes = answers
      .filter((answer) => answer.status === 200)
      .map((answer) => (JSON.parse(answer.body) as Answer).batch);
    assert.ok(
      sizes.every((size) => size >= 1 && size <= 8),
      `every answer came from run_batch(): ${sizes.join(', ')}`,
    );
    assert.ok(Math.max(...sizes) > 1, `some requests shared a call: ${sizes.join(', ')}`);
  });

  it('collects each answered request with its body and its answer', async () => {
    const answer = await send(`${url}/score`, { body: { x: 21 } });
    assert.equal(answer.status, 200, answer.body);
    const lines = async (): Promise<string[]> =>
      readdirSync(collected).flatMap((file) =>
        readFileSync(join(collected, file), 'utf8')
          .split('\n')
          .filter((line) => line !== ''),
      );
    await waitFor(async () => (await lines()).some((line) => line.includes('"x":21')), 10_000, 'the record');
    const record = (await lines())
      .map((line) => JSON.parse(line) as { id: string; model: string; inputs: unknown; outputs: unknown })
      .find((entry) => (entry.inputs as { x?: number }).x === 21);
    assert.equal(record?.model, 'doubler');
    assert.deepEqual(record?.inputs, { x: 21 });
    assert.deepEqual(record?.outputs, { y: 42, batch: 1 });
    assert.match(record?.id ?? '', /\S/);
  });
});
