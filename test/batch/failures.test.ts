import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchFixture } from './helpers.js';
import { readPredictions, runScriptJob, withBatchFixture } from './helpers.js';

/** Twelve small files, f00…f11, scored 3 per mini-batch (4 mini-batches) by `script`. */
async function runScript(fixture: BatchFixture, script: string, settings: Record<string, unknown>) {
  for (let i = 0; i < 12; i += 1) await fixture.write(`in/f${String(i).padStart(2, '0')}.txt`, String(i));
  await fixture.write('score.mjs', script);
  return runScriptJob(fixture, { mini_batch_size: 3, ...settings }).running;
}

const failOnIndex = (index: number, attempts = Infinity) => `
  import { basename } from 'node:path';
  export function run(paths, ctx) {
    if (ctx.miniBatch.index === ${index} && ctx.miniBatch.attempt <= ${attempts === Infinity ? 1e9 : attempts}) {
      throw new Error('boom in ' + ctx.miniBatch.index + ' attempt ' + ctx.miniBatch.attempt);
    }
    return paths.map((p) => (basename(p) === 'f10.txt' || basename(p) === 'f11.txt' ? undefined : basename(p)));
  }`;

test('error_threshold stops the job once more items failed than it allows, naming them', async () => {
  await withBatchFixture(async (fixture) => {
    const status = await runScript(fixture, failOnIndex(-1), { error_threshold: 1 });
    assert.equal(status.state, 'failed');
    assert.match(
      status.reason ?? '',
      /^error_threshold 1 exceeded: 2 items failed, e\.g\. f10\.txt \(run\(\) returned no result for this item\); f11\.txt/,
    );
    assert.equal(status.output.predictions, undefined, 'a failed job writes no predictions');
    const tolerant = await runScript(fixture, failOnIndex(-1), { error_threshold: 2 });
    assert.equal(tolerant.state, 'completed');
  });
});

test('max_retries: an attempt that throws is retried, and succeeds on a later attempt', async () => {
  await withBatchFixture(async (fixture) => {
    const status = await runScript(fixture, failOnIndex(2, 2), { retry_settings: { max_retries: 2 } });
    assert.equal(status.state, 'completed', status.reason);
    assert.equal(status.miniBatches.retried, 2);
    assert.equal(status.miniBatches.failed, 0);
    assert.match(status.firstError?.message ?? '', /run\(\) failed: boom in 2 attempt 1/);
    assert.equal(status.firstError?.miniBatch, 2);
    const report = JSON.parse(await readFile(status.output.report ?? '', 'utf8'));
    assert.equal(report.miniBatches[2].attempts, 3);
    const { rows } = await readPredictions(status.output.predictions ?? '');
    assert.equal(rows.length, 10);
  });
});

test('a mini-batch failing every attempt fails alone, or stops the job under allowed_failed_count / percent', async () => {
  await withBatchFixture(async (fixture) => {
    const tolerated = await runScript(fixture, failOnIndex(1), {
      retry_settings: { max_retries: 1 },
      allowed_failed_percent: 25,
    });
    assert.equal(tolerated.state, 'completed', tolerated.reason);
    assert.deepEqual(tolerated.miniBatches, { total: 4, succeeded: 3, failed: 1, retried: 1, running: 0 });
    assert.deepEqual(tolerated.items, { total: 12, succeeded: 7, failed: 5 });
    const report = JSON.parse(await readFile(tolerated.output.report ?? '', 'utf8'));
    assert.equal(report.miniBatches[1].status, 'failed');
    assert.equal(report.miniBatches[1].attempts, 2);
    assert.match(report.miniBatches[1].error.message, /boom in 1 attempt 2/);
    const keys = (await readPredictions(tolerated.output.predictions ?? '')).rows.map((row) => row[0]);
    assert.deepEqual(keys, ['f00.txt', 'f01.txt', 'f02.txt', 'f06.txt', 'f07.txt', 'f08.txt', 'f09.txt']);

    const byCount = await runScript(fixture, failOnIndex(1), {
      retry_settings: { max_retries: 0 },
      allowed_failed_count: 0,
    });
    assert.equal(byCount.state, 'failed');
    assert.equal(byCount.reason, 'allowed_failed_count 0 exceeded: 1 mini-batches failed (1)');

    const byPercent = await runScript(fixture, failOnIndex(1), {
      retry_settings: { max_retries: 0 },
      allowed_failed_percent: 20,
    });
    assert.equal(byPercent.state, 'failed');
    assert.equal(byPercent.reason, 'allowed_failed_percent 20 exceeded: 1 of 4 mini-batches failed (1)');
  });
});

test('retry_settings.timeout: a hanging run() is killed, retried, then failed with the reason', async () => {
  await withBatchFixture(async (fixture) => {
    const hang = `
      export async function run(paths, ctx) {
        if (ctx.miniBatch.index === 0) await new Promise(() => {});
        return paths.map(() => 1);
      }`;
    const started = Date.now();
    const status = await runScript(fixture, hang, {
      retry_settings: { max_retries: 1, timeout: 0.4 },
      max_concurrency_per_instance: 2,
    });
    assert.ok(Date.now() - started < 10_000);
    assert.equal(status.state, 'completed', status.reason);
    assert.deepEqual(status.miniBatches, { total: 4, succeeded: 3, failed: 1, retried: 1, running: 0 });
    assert.equal(status.firstError?.code, 'UPSTREAM_TIMEOUT');
    assert.equal(status.firstError?.message, 'run() did not finish within 0.4 s (retry_settings.timeout)');
    const report = JSON.parse(await readFile(status.output.report ?? '', 'utf8'));
    assert.deepEqual([report.miniBatches[0].status, report.miniBatches[0].attempts], ['failed', 2]);
  });
});

test('a mini-batch waiting in the engine for its slot neither runs alongside nor spends its timeout', async () => {
  await withBatchFixture(async (fixture) => {
    const log = join(fixture.dir, 'runs.log');
    // Each run takes 0.8 s of the 1.2 s allowed (room for a loaded machine); a mini-batch handed out
    // while another runs waits up to 0.8 s for the slot, so a clock started at hand-out would time
    // it out.
    const timed = `
      import { appendFileSync } from 'node:fs';
      export async function run(paths, ctx) {
        appendFileSync(${JSON.stringify(log)}, 'start ' + ctx.miniBatch.index + ' ' + Date.now() + '\\n');
        await new Promise((resolve) => setTimeout(resolve, 800));
        appendFileSync(${JSON.stringify(log)}, 'end ' + ctx.miniBatch.index + ' ' + Date.now() + '\\n');
        return paths.map(() => 1);
      }`;
    const status = await runScript(fixture, timed, { retry_settings: { max_retries: 0, timeout: 1.2 } });
    assert.equal(status.state, 'completed', status.reason);
    assert.deepEqual(status.miniBatches, { total: 4, succeeded: 4, failed: 0, retried: 0, running: 0 });
    const events = (await readFile(log, 'utf8')).trimEnd().split('\n');
    assert.deepEqual(
      events.map((line) => line.split(' ')[0]),
      ['start', 'end', 'start', 'end', 'start', 'end', 'start', 'end'],
      'one slot: one mini-batch at a time',
    );
  });
});

test('a script whose init() throws fails the job quickly with the reason', async () => {
  await withBatchFixture(async (fixture) => {
    const status = await runScript(
      fixture,
      `export function init() { throw new Error('no GPU here'); }\nexport function run(p) { return p; }`,
      {
        retry_settings: { max_retries: 1 },
      },
    );
    assert.equal(status.state, 'failed');
    assert.match(status.reason ?? '', /the workers could not start 2 times: .*init\(\) failed: no GPU here/);
    assert.match(status.firstError?.message ?? '', /no GPU here/);
  });
});

/**
 * Starts a job over `files` (one per mini-batch) and cancels it once two mini-batches have
 * succeeded. The first two files score at once; the others wait while the file `hold` exists, so
 * the cancel always lands mid-job however fast the machine runs the first two. `hold` is removed
 * before this returns, so a resume scores the rest at once.
 */
async function cancelMidJob(fixture: BatchFixture, files: string[]) {
  const quick = JSON.stringify(files.slice(0, 2));
  const hold = JSON.stringify(join(fixture.dir, 'hold'));
  const script = `import { existsSync } from 'node:fs';
    import { basename } from 'node:path';
    export async function run(paths) {
      const held = !${quick}.includes(basename(paths[0])) && existsSync(${hold});
      await new Promise((r) => setTimeout(r, held ? 30_000 : 10));
      return paths.map((p) => p.length);
    }`;
  for (const [i, file] of files.entries()) await fixture.write(`in/${file}`, String(i));
  await fixture.write('score.mjs', script);
  await fixture.write('hold', '');
  const job = runScriptJob(fixture, { mini_batch_size: 1 });
  let jobId: string | undefined;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    jobId = job.jobId();
    if (jobId !== undefined && (await fixture.batch.status(jobId)).miniBatches.succeeded >= 2) break;
  }
  const canceled = await fixture.batch.cancel(jobId);
  const ended = await job.running;
  await rm(join(fixture.dir, 'hold'));
  return { jobId, canceled, ended };
}

test('cancel stops a running job; resume then scores the rest, every item once', async () => {
  await withBatchFixture(async (fixture) => {
    const files = Array.from({ length: 12 }, (_, i) => `f${String(i).padStart(2, '0')}.txt`);
    const { jobId, canceled, ended } = await cancelMidJob(fixture, files);
    assert.equal(canceled.state, 'canceled');
    assert.equal(ended.state, 'canceled');
    assert.ok(canceled.miniBatches.succeeded < 12);
    const resumed = await fixture.batch.resume(jobId);
    assert.equal(resumed.state, 'completed', resumed.reason);
    const keys = (await readPredictions(resumed.output.predictions ?? '')).rows.map((row) => row[0]);
    assert.deepEqual(keys, files);
    assert.equal(
      (await fixture.batch.cancel(jobId)).state,
      'completed',
      'cancelling a finished job changes nothing',
    );
  });
});

test('resume reports a mini-batch whose result was kept but whose report line was lost', async () => {
  await withBatchFixture(async (fixture) => {
    const { jobId, ended } = await cancelMidJob(
      fixture,
      Array.from({ length: 6 }, (_, i) => `f${i}.txt`),
    );
    assert.equal(ended.state, 'canceled');
    // What a submitter killed between keeping a result and appending its report line leaves behind.
    const reportPath = join(fixture.workspace.dir, 'jobs', jobId, 'report.jsonl');
    await writeFile(reportPath, '');

    const resumed = await fixture.batch.resume(jobId);
    assert.equal(resumed.state, 'completed', resumed.reason);
    const kept = (await readFile(reportPath, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { index: number; kept?: boolean; status: string })
      .filter((line) => line.kept === true);
    assert.deepEqual(
      kept.map((line) => line.index).sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5],
      'one kept line per mini-batch, the recovered ones included',
    );
    assert.ok(kept.every((line) => line.status === 'succeeded'));
  });
});
