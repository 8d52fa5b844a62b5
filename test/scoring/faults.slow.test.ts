/**
 * Faults in user code, against the scoring server as a process of its own (main.js, as targets run
 * it) over loopback: a `run` that loops forever, one that fills the heap, one that fills Buffers,
 * one that calls process.exit, a worker that can no longer start, memory no worker holds, and the
 * process killed. In each case the client gets a clear error, the server recovers by itself (or,
 * where it cannot, says so on its liveness route and exits for its supervisor), a correct request
 * afterwards gets the correct answer, and /berth/status and /metrics say what happened.
 *
 * Bounded: one worker, a 300 MB memory limit, a 64 MB heap, and no script allocates more than
 * 1 GB even if the limit were not enforced.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { postJson, tempDir } from './http-harness.js';
import { faultScript, startServerProcess, status, waitFor, type ServerProcess } from './fault-harness.js';

const MB = 1024 * 1024;
const LIMIT = 300 * MB;

interface Message {
  message: string;
}

async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  assert.ok(line !== undefined, `no ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

async function answersCorrectly(url: string, value: number): Promise<void> {
  const answer = await postJson(`${url}/score`, { value });
  assert.equal(answer.status, 200, answer.text);
  assert.deepEqual(answer.json(), { doubled: value * 2 });
}

describe('scoring server faults: one process, one worker, the same server throughout', () => {
  const dir = tempDir('faults');
  const { script, model } = faultScript(dir.path);
  // Two servers: a short deadline for the run that never returns, and a long one for the rest, so
  // that on a loaded machine a slow fill of the heap is still ended by memory, not by its deadline.
  let server: ServerProcess;
  let quick: ServerProcess;

  before(async () => {
    const options = {
      models: [model],
      scoringScript: script,
      workers: 1,
      memoryLimitBytes: LIMIT,
      workerMaxOldGenerationMb: 64,
    };
    [quick, server] = await Promise.all([
      startServerProcess(dir.path, { ...options, requestTimeoutMs: 2500 }),
      startServerProcess(dir.path, { ...options, requestTimeoutMs: 20_000 }),
    ]);
  });
  after(async () => {
    await Promise.all([quick.stop(), server.stop()]);
    dir.remove();
  });

  it('prints the memory limit it enforces when it starts', () => {
    assert.equal(server.listening.memoryLimitBytes, LIMIT);
    assert.match(String(server.listening.memoryLimit), /memory limit 300\.0 MiB \(set by memoryLimitBytes\)/);
  });

  it('a run that never returns: 504, the stuck worker replaced, requests queued on it told to retry', async () => {
    await answersCorrectly(quick.url, 21);
    const started = Date.now();
    const stuck = postJson(`${quick.url}/score`, { loop: true }, { 'x-request-id': 'loop-forever-1' });
    const timedOut = await stuck;
    assert.equal(timedOut.status, 504, timedOut.text);
    assert.match((timedOut.json() as Message).message, /timed out after 2500 ms/);
    assert.ok(Date.now() - started < 4_000, 'the stuck request is answered at its deadline');
    // Sent while the probe is out (it waits 1000 ms for the stuck worker), so that this request's
    // own deadline comes after the worker is ended: it is answered "replaced, retry", not 504.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const queued = postJson(`${quick.url}/score`, { value: 1 });
    const replaced = await queued;
    assert.equal(replaced.status, 503, replaced.text);
    assert.match(
      (replaced.json() as Message).message,
      /worker \d+ was ended and replaced while it held this request \(request loop-forever-1: .*did not answer for 1000 ms\); retry the request/,
    );

    await answersCorrectly(quick.url, 5);
    const after = await status(quick.url);
    assert.equal(after.replaced.timeout, 1);
    assert.equal(after.lastFailure?.cause, 'timeout');
    assert.match(
      after.lastFailure?.message ?? '',
      /request loop-forever-1: the request timed out after 2500 ms/,
    );
    assert.equal(after.live, true);
    assert.deepEqual(after.workers, { configured: 1, alive: 1 });
    assert.equal(await metric(quick.url, 'berth_worker_replacements_total{cause="timeout"}'), 1);
    const line = quick.stderr.find((text) => text.includes('loop-forever-1'));
    assert.ok(line !== undefined, 'a log line names the request');
    assert.match(
      line,
      /worker 1 stopped \(timeout\): request loop-forever-1: the request timed out after 2500 ms.*worker 2 replaces it/,
    );
  });

  it('a run that fills its heap: 503 naming the heap limit, replaced, counted as memory', async () => {
    const answer = await postJson(`${server.url}/score`, { heap: true });
    assert.equal(answer.status, 503, answer.text);
    assert.match((answer.json() as Message).message, /ran out of memory \(limit 64 MB of heap per worker/);
    await answersCorrectly(server.url, 6);
    const after = await status(server.url);
    assert.equal(after.replaced.memory, 1);
    assert.equal(after.lastFailure?.cause, 'memory');
  });

  it('a run that fills Buffers past the process limit: 503 naming the limit, replaced, RSS bounded', async () => {
    const answer = await postJson(`${server.url}/score`, { buffersMb: 1000 });
    assert.equal(answer.status, 503, answer.text);
    assert.match(
      (answer.json() as Message).message,
      /over its memory limit of 300 MB \(memoryLimitBytes 314572800\), and the worker held the excess/,
    );
    const peak = server.peakRssBytes();
    // 1000 MB if nothing stopped it; the watch samples every 100 ms, so it overshoots a little.
    assert.ok(peak < LIMIT + 350 * MB, `peak RSS ${Math.round(peak / MB)} MB`);
    await answersCorrectly(server.url, 7);
    const after = await status(server.url);
    assert.equal(after.replaced.memory, 2);
    assert.match(after.lastFailure?.message ?? '', /over its memory limit of 300 MB/);
    assert.ok(after.memory.rssBytes < LIMIT, `RSS back under the limit: ${after.memory.rssBytes}`);
    assert.equal(after.memory.limitBytes, LIMIT);
    assert.equal(await metric(server.url, 'berth_worker_replacements_total{cause="memory"}'), 2);
    assert.equal(await metric(server.url, 'berth_memory_limit_bytes'), LIMIT);
  });

  it('a run that calls process.exit: 500 naming the exit, replaced, counted as exit', async () => {
    const answer = await postJson(`${server.url}/score`, { exit: 3 });
    assert.equal(answer.status, 500, answer.text);
    assert.match((answer.json() as Message).message, /exited with code 3/);
    await answersCorrectly(server.url, 8);
    const after = await status(server.url);
    assert.deepEqual(after.replaced, { timeout: 0, crash: 0, memory: 2, exit: 1 });
    assert.equal(await metric(server.url, 'berth_worker_restarts_total'), 3);
  });
});

describe('scoring server faults the server cannot mend itself', () => {
  const dir = tempDir('faults-fatal');
  after(() => dir.remove());

  it('reports itself not live while no worker can start, and live again once one can', async () => {
    const { script, model, failInitMarker } = faultScript(dir.path);
    const server = await startServerProcess(dir.path, { models: [model], scoringScript: script, workers: 1 });
    try {
      assert.equal((await fetch(`${server.url}/v2/health/live`)).status, 200);
      writeFileSync(failInitMarker, 'refuse');
      const crashed = await postJson(`${server.url}/score`, { exit: 1 });
      assert.equal(crashed.status, 500);
      // Replacements fail at once, then after 1 s and 2 s: the third failure makes it not live.
      await waitFor('liveness 503', 15_000, async () =>
        (await fetch(`${server.url}/v2/health/live`)).status === 503 ? true : undefined,
      );
      const live = await fetch(`${server.url}/v2/health/live`);
      assert.match(
        ((await live.json()) as { error: string }).error,
        /cannot score: no worker can start: 3 starts in a row failed .*init refuses to start/,
      );
      assert.equal((await fetch(`${server.url}/`)).status, 503);
      assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 400);
      const down = await status(server.url);
      assert.equal(down.live, false);
      assert.equal(down.ready, false);
      assert.equal(down.workers.alive, 0);
      assert.equal(down.lastFailure?.cause, 'start');
      assert.equal(await metric(server.url, 'berth_live'), 0);

      rmSync(failInitMarker);
      // The next retry comes 4 s after the third failure.
      await waitFor('liveness 200 again', 15_000, async () =>
        (await fetch(`${server.url}/v2/health/live`)).status === 200 ? true : undefined,
      );
      await answersCorrectly(server.url, 9);
      assert.equal((await status(server.url)).live, true);
    } finally {
      await server.stop();
    }
  });

  it('exits with a failure line when memory stays over the limit and no worker holds it', async () => {
    // The main thread holds the memory here (as request bodies or inline sessions would): replacing
    // a worker cannot help, so the server says it is not live, then exits for its supervisor.
    const { script, model } = faultScript(dir.path);
    const server = await startServerProcess(dir.path, {
      models: [model],
      scoringScript: script,
      workers: 1,
      memoryLimitBytes: LIMIT,
      requestTimeoutMs: 30_000,
    });
    try {
      assert.equal((await status(server.url)).live, true);
      // Six 60 MB bodies that stop 1 MB short of their end: the main thread holds 354 MB of them.
      const bodies = Array.from({ length: 6 }, () =>
        fetch(`${server.url}/score`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': String(60 * MB) },
          body: slowBody(60 * MB),
          duplex: 'half',
        }).catch(() => undefined),
      );
      await waitFor('liveness 503', 15_000, async () => {
        const answer = await fetch(`${server.url}/v2/health/live`).catch(() => undefined);
        return answer?.status === 503 ? true : undefined;
      });
      const exitCode = await server.exited;
      await Promise.all(bodies);
      assert.equal(exitCode, 1);
      const failure = server.stderr
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((event) => event.event === 'failed');
      assert.ok(failure !== undefined, `a failure line: ${server.stderr.join('\n')}`);
      assert.equal(failure.code, 'MEMORY_LIMIT');
      assert.match(
        String(failure.message),
        /over its memory limit of 300 MB, and no worker holds the excess for 2000 ms: the process must be replaced/,
      );
    } finally {
      await server.stop();
    }
  });
});

describe('scoring server process killed', () => {
  const dir = tempDir('faults-killed');
  after(() => dir.remove());

  it('clients see the connection end; a process started in its place serves at once', async () => {
    const { script, model } = faultScript(dir.path);
    const first = await startServerProcess(dir.path, { models: [model], scoringScript: script, workers: 1 });
    const port = first.listening.port as number;
    const inFlight = postJson(`${first.url}/score`, { sleep: 5_000, value: 1 }).then(
      () => 'answered',
      (error: Error & { cause?: { code?: string } }) => error.cause?.code ?? error.message,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, null);
    assert.match(await inFlight, /ECONNRESET|UND_ERR_SOCKET|other side closed/);
    // What a supervisor does: the same options on the same port.
    const second = await startServerProcess(dir.path, {
      models: [model],
      scoringScript: script,
      workers: 1,
      port,
    });
    try {
      await answersCorrectly(second.url, 10);
      const fresh = await status(second.url);
      assert.deepEqual(fresh.replaced, { timeout: 0, crash: 0, memory: 0, exit: 0 });
      assert.equal(fresh.lastFailure, null);
      assert.equal(fresh.live, true);
    } finally {
      await second.stop();
    }
  });

  it('refuses to start, with a failure line, under a memory limit the idle server is over', async () => {
    const { script, model } = faultScript(dir.path);
    await assert.rejects(
      startServerProcess(dir.path, {
        models: [model],
        scoringScript: script,
        workers: 1,
        memoryLimitBytes: 64 * MB,
      }),
      /"code":"INVALID_SPEC".*over its memory limit of 64 MB \(memoryLimitBytes 67108864\): raise the limit/,
    );
  });
});

/** A body of `bytes` that arrives in 1 MB pieces and then stalls, so the server holds what came. */
function slowBody(bytes: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    async pull(controller) {
      if (sent >= bytes - MB) {
        // Unreferenced: the test process need not wait for a body the server has stopped reading.
        await new Promise((resolve) => setTimeout(resolve, 30_000).unref());
        controller.close();
        return;
      }
      controller.enqueue(new Uint8Array(MB).fill(32));
      sent += MB;
    },
  });
}
