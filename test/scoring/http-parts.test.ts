/** Unit tests of the scoring server's parts: admission, auth, options, metrics. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hasErrorCode } from '../../src/core/errors.js';
import { createAdmission } from '../../src/scoring/admission.js';
import type { CancelSignal } from '../../src/scoring/cancel.js';
import { createAuth } from '../../src/scoring/auth.js';
import { ScoringMetrics } from '../../src/scoring/metrics.js';
import { resolveScoringOptions } from '../../src/scoring/options.js';
import { createClient } from './grpc-harness.js';
import { linearModel, tempDir } from './http-harness.js';

describe('admission', () => {
  it('runs maxConcurrent, queues maxQueued, refuses the rest at once, hands slots in order', async () => {
    const admission = createAdmission({ maxConcurrent: 1, maxQueued: 1 });
    const first = await admission.acquire();
    const order: string[] = [];
    const second = admission.acquire().then((release) => {
      order.push('second');
      return release;
    });
    await assert.rejects(admission.acquire(), (error) => hasErrorCode(error, 'TOO_MANY_REQUESTS'));
    assert.equal(admission.inFlight, 1);
    assert.equal(admission.queued, 1);
    first();
    first(); // a second call is a no-op
    (await second)();
    assert.deepEqual(order, ['second']);
    assert.equal(admission.inFlight, 0);
  });

  it('drops an aborted waiter from the queue', async () => {
    const admission = createAdmission({ maxConcurrent: 1, maxQueued: 1 });
    const release = await admission.acquire();
    const controller = new AbortController();
    const waiting = admission.acquire(controller.signal);
    controller.abort(new Error('gone'));
    await assert.rejects(waiting, /gone/);
    assert.equal(admission.queued, 0);
    release();
    assert.equal(admission.inFlight, 0);
  });

  it('takes a free slot without waiting, and never one a queued request is owed', async () => {
    const admission = createAdmission({ maxConcurrent: 1, maxQueued: 1 });
    const first = admission.tryAcquire();
    assert.ok(first, 'a free slot is taken at once');
    assert.equal(admission.tryAcquire(), undefined, 'none while the one slot is held');
    assert.equal(admission.arrived, 1, 'a refused try is not a request');
    const queued = admission.acquire();
    first();
    assert.equal(admission.tryAcquire(), undefined, 'the freed slot went to the waiter');
    (await queued)();
    assert.equal(admission.inFlight, 0);
    assert.ok(admission.tryAcquire());
    assert.equal(admission.arrived, 3);
  });
});

describe('withSlot', () => {
  it('frees the slot when work that settles on abort is aborted, and queues past the limit', async () => {
    const { withSlot } = await import('../../src/scoring/http/context.js');
    const { CancelSource, abortReason } = await import('../../src/scoring/cancel.js');
    const admission = createAdmission({ maxConcurrent: 1, maxQueued: 1 });
    const context = { admission, metrics: { rejected: { inc: () => {} } } } as unknown as Parameters<
      typeof withSlot
    >[0];
    const exchange = () => ({ phase: 'body' }) as unknown as Parameters<typeof withSlot>[1];
    // Work as the engine does it: it rejects with the signal's reason when the signal aborts.
    const honouring = (signal: CancelSignal) => () =>
      new Promise<string>((_resolve, reject) =>
        signal.addEventListener('abort', () => reject(abortReason(signal))),
      );
    const first = new CancelSource();
    const running = withSlot(context, exchange(), first.signal, honouring(first.signal), true);
    assert.equal(admission.inFlight, 1);
    const second = new CancelSource();
    const queued = withSlot(context, exchange(), second.signal, () => Promise.resolve('second'), true);
    assert.equal(admission.queued, 1);
    first.abort(new Error('deadline'));
    await assert.rejects(running, /deadline/);
    assert.equal(await queued, 'second');
    assert.equal(admission.inFlight, 0);
    assert.equal(admission.queued, 0);
  });

  it('races work that does not settle on abort against the signal', async () => {
    const { withSlot } = await import('../../src/scoring/http/context.js');
    const { CancelSource } = await import('../../src/scoring/cancel.js');
    const admission = createAdmission({ maxConcurrent: 1, maxQueued: 1 });
    const context = { admission, metrics: { rejected: { inc: () => {} } } } as unknown as Parameters<
      typeof withSlot
    >[0];
    const source = new CancelSource();
    const stuck = withSlot(
      context,
      { phase: 'body' } as never,
      source.signal,
      () => new Promise<never>(() => {}),
    );
    source.abort(new Error('deadline'));
    await assert.rejects(stuck, /deadline/);
    assert.equal(admission.inFlight, 0);
  });
});

describe('request ids', () => {
  it('are UUID-shaped (version 4, RFC variant) and unique', async () => {
    const { newRequestId } = await import('../../src/scoring/request-id.js');
    const ids = Array.from({ length: 1000 }, () => newRequestId());
    for (const id of ids)
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(new Set(ids).size, ids.length);
  });
});

describe('auth', () => {
  it('accepts either key, refuses others, and rotates', () => {
    const auth = createAuth({ primaryKey: 'aaaaaaaa', secondaryKey: 'bbbbbbbb' });
    assert.ok(auth.check('Bearer aaaaaaaa'));
    assert.ok(auth.check('bearer bbbbbbbb'));
    assert.ok(!auth.check('Bearer cccccccc'));
    assert.ok(!auth.check(undefined));
    assert.ok(!auth.check('aaaaaaaa'));
    auth.setKeys({ primaryKey: 'aaaaaaaa', secondaryKey: 'cccccccc' });
    assert.ok(!auth.check('Bearer bbbbbbbb'));
    assert.ok(auth.check('Bearer cccccccc'));
    assert.ok(createAuth(undefined).check(undefined));
  });
});

describe('scoring options', () => {
  it('fills every default and derives the engine options', () => {
    const resolved = resolveScoringOptions({ workers: 2 }, false);
    assert.equal(resolved.port, 5001);
    assert.equal(resolved.host, '127.0.0.1');
    assert.equal(resolved.requestTimeoutMs, 5000);
    assert.equal(resolved.maxBodyBytes, 100 * 1024 * 1024);
    assert.equal(resolved.maxConcurrentRequests, 4);
    assert.equal(resolved.maxQueueSize, 16);
    assert.equal(resolved.logLevel, 'info');
    assert.equal(resolveScoringOptions({}, true).logLevel, 'warn');
    assert.equal(resolved.engine.workers, 2);
    assert.deepEqual(resolved.engine.batching, { enabled: false, maxBatchSize: 8, maxQueueDelayMs: 2 });
    assert.ok(resolveScoringOptions({}).engine.workers >= 1);
  });

  it('names the bad field, and takes a resolved object back', () => {
    assert.throws(
      () => resolveScoringOptions({ port: 'x' }),
      (e: Error) => hasErrorCode(e, 'INVALID_SPEC') && /port/.test(e.message),
    );
    assert.throws(() => resolveScoringOptions({ batching: { maxBatchSize: 0 } }), /batching\.maxBatchSize/);
    assert.throws(() => resolveScoringOptions({ prot: 1 }), /prot/);
    const resolved = resolveScoringOptions({ workers: 3, dataCollection: { dir: '/tmp/x' } });
    assert.deepEqual(resolveScoringOptions(JSON.parse(JSON.stringify(resolved))), resolved);
  });
});

describe('metrics', () => {
  it('writes Prometheus text with cumulative buckets', () => {
    const metrics = new ScoringMetrics({
      queueDepth: () => 2,
      inFlight: () => 1,
      workerRestarts: () => undefined,
    });
    metrics.recordRequest('/score', 200, 0.003);
    metrics.recordRequest('/score', 200, 0.2);
    const text = metrics.render();
    assert.match(text, /berth_http_requests_total\{route="\/score",status="200"\} 2/);
    assert.match(text, /berth_http_request_duration_seconds_bucket\{route="\/score",le="0.005"\} 1/);
    assert.match(text, /berth_http_request_duration_seconds_bucket\{route="\/score",le="0.25"\} 2/);
    assert.match(text, /berth_queue_depth 2/);
    assert.doesNotMatch(text, /worker_restarts/);
  });
});

describe('scoring main entry', () => {
  it('prints the listening line and stops on SIGTERM', async () => {
    const dir = tempDir('http-main');
    try {
      const config = join(dir.path, 'options.json');
      const options = resolveScoringOptions({
        port: 0,
        workers: 1,
        logLevel: 'silent',
        models: [linearModel(dir.path)],
      });
      writeFileSync(config, JSON.stringify(options));
      const main = fileURLToPath(new URL('../../src/scoring/main.js', import.meta.url));
      const child = spawn(process.execPath, [main, '--config', config], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const first = await new Promise<string>((resolve) =>
        createInterface({ input: child.stdout }).once('line', resolve),
      );
      const event = JSON.parse(first) as { event: string; port: number; grpcPort: number | null };
      assert.equal(event.event, 'listening');
      const answer = await fetch(`http://127.0.0.1:${event.port}/v2/health/ready`);
      assert.equal(answer.status, 200);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      dir.remove();
    }
  });

  /** Starts main.js on the linear model with `env`; the listening event, or the failure line. */
  async function startMain(
    path: string,
    env: Record<string, string>,
  ): Promise<{ child: ReturnType<typeof spawn>; exited: Promise<number | null>; first: string }> {
    const config = join(path, 'options.json');
    writeFileSync(
      config,
      JSON.stringify(
        resolveScoringOptions({
          port: 0,
          grpcPort: 0,
          workers: 1,
          logLevel: 'silent',
          models: [linearModel(path)],
        }),
      ),
    );
    const main = fileURLToPath(new URL('../../src/scoring/main.js', import.meta.url));
    const child = spawn(process.execPath, [main, '--config', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let errors = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (errors += text));
    const first = await new Promise<string>((resolve) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      void exited.then(() => resolve(errors));
    });
    return { child, exited, first };
  }

  it('with BERTH_STOP_DELAY_MS, answers for that long after SIGTERM with readiness at 503, then stops', async () => {
    const dir = tempDir('http-main-delay');
    try {
      const { child, exited, first } = await startMain(dir.path, { BERTH_STOP_DELAY_MS: '1500' });
      const { port, grpcPort } = JSON.parse(first) as { port: number; grpcPort: number };
      const grpc = createClient(grpcPort);
      const url = `http://127.0.0.1:${port}`;
      const infer = () =>
        fetch(`${url}/v2/models/linear/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [2, 0, 1] }] }),
        });
      assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
      const signalled = performance.now();
      child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const ready = await fetch(`${url}/v2/health/ready`);
      assert.equal(ready.status, 503, await ready.text());
      assert.equal((await fetch(`${url}/v2/health/live`)).status, 200);
      const answer = await infer();
      assert.equal(answer.status, 200, await answer.text());
      assert.deepEqual(await grpc.call('ServerReady', {}), { ready: false });
      grpc.close();
      assert.equal(await exited, 0);
      assert.ok(performance.now() - signalled >= 1400, 'it stopped before its delay was over');
    } finally {
      dir.remove();
    }
  });

  it('refuses a BERTH_STOP_DELAY_MS that is not whole milliseconds in range, naming it', async () => {
    const dir = tempDir('http-main-bad-delay');
    try {
      for (const value of ['soon', '-1', '1.5', '999999']) {
        const { exited, first } = await startMain(dir.path, { BERTH_STOP_DELAY_MS: value });
        assert.equal(await exited, 2, first);
        const failed = JSON.parse(first) as { event: string; code: string; message: string };
        assert.deepEqual(failed, {
          event: 'failed',
          code: 'INVALID_SPEC',
          message: `BERTH_STOP_DELAY_MS is "${value}": give whole milliseconds from 0 to 120000`,
        });
      }
    } finally {
      dir.remove();
    }
  });
});
