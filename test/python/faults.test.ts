/**
 * The Python runtime keeps the JS runtime's guarantees: a worker process that dies, or that is
 * still running a request at its deadline, is replaced and its request answered; a failing run()
 * answers 500 and the process keeps serving; an import berth does not cover fails at init naming it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createEngine } from '../../src/scoring/engine/index.js';
import { resolveScoringOptions } from '../../src/scoring/options.js';
import { startScoringServer, type ScoringServerHandle } from '../../src/scoring/server.js';
import { send } from '../helpers/http.js';
import { waitFor } from '../targets/helpers.js';
import { fixtures, pythonMissing } from './helpers.js';

interface Status {
  live: boolean;
  workers: { configured: number; alive: number };
  replaced: { timeout: number; crash: number; memory: number; exit: number };
  lastFailure: { cause: string; message: string } | null;
}

describe('Python worker faults', { skip: pythonMissing }, () => {
  let dir: string;
  let server: ScoringServerHandle;
  let url: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-python-faults-'));
    writeFileSync(join(dir, 'README'), 'no model file');
    server = await startScoringServer(
      resolveScoringOptions({
        port: 0,
        workers: 1,
        requestTimeoutMs: 1_500,
        logLevel: 'silent',
        scoringScript: join(fixtures, 'faults', 'score.py'),
        models: [{ name: 'faults', version: 1, framework: 'custom', modelDir: dir, signature: null }],
      }),
    );
    await server.ready;
    url = `http://127.0.0.1:${server.httpPort}`;
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const status = async (): Promise<Status> => JSON.parse((await send(`${url}/berth/status`)).body) as Status;
  const pid = async (): Promise<number> => {
    const answer = await send(`${url}/score`, { body: { mode: 'ok' } });
    assert.equal(answer.status, 200, answer.body);
    return (JSON.parse(answer.body) as { pid: number }).pid;
  };

  it('run() gets the body exactly as sent, as a string', async () => {
    const raw = '{"mode": "ok",   "x": 1.0}';
    const answer = await send(`${url}/score`, {
      raw: Buffer.from(raw),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(answer.status, 200, answer.body);
    assert.equal((JSON.parse(answer.body) as { raw: string }).raw, raw);
  });

  it('an exception in run() answers 500 with its message, and the same process serves on', async () => {
    const before = await pid();
    const failed = await send(`${url}/score`, { body: { mode: 'fail' } });
    assert.equal(failed.status, 500);
    assert.equal(failed.headers['x-ms-run-function-failed'], 'True');
    assert.match(failed.body, /ValueError: asked to fail/);
    assert.equal(await pid(), before);
  });

  it('a process that exits is replaced, and the request it held is answered', async () => {
    const before = await pid();
    const crashed = await send(`${url}/score`, { body: { mode: 'crash' } });
    assert.equal(crashed.status, 500);
    assert.match(crashed.body, /exited with code 3/);
    await waitFor(async () => (await status()).workers.alive === 1, 60_000, 'the replacement process');
    assert.notEqual(await pid(), before);
    const after = await status();
    assert.equal(after.replaced.exit, 1);
    assert.equal(after.lastFailure?.cause, 'exit');
  });

  it('a request still running at its deadline gets 504, and its process is killed and replaced', async () => {
    const before = await pid();
    const hung = await send(`${url}/score`, { body: { mode: 'hang' } });
    assert.equal(hung.status, 504);
    await waitFor(async () => (await status()).replaced.timeout === 1, 10_000, 'the timeout to be counted');
    await waitFor(async () => (await status()).workers.alive === 1, 60_000, 'the replacement process');
    assert.notEqual(await pid(), before);
    assert.match((await status()).lastFailure?.message ?? '', /at its deadline/);
  });

  it('a script importing an Azure module berth does not provide fails at init, naming it', async () => {
    const options = resolveScoringOptions({
      workers: 1,
      scoringScript: join(fixtures, 'unsupported', 'score.py'),
      models: [],
    });
    await assert.rejects(createEngine(options.engine), (error: Error) => {
      assert.match(error.message, /failed at init/);
      assert.match(error.message, /does not provide 'azureml\.core\.webservice'/);
      return true;
    });
  });
});
