import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BatchFixture } from './helpers.js';
import { readPredictions, runScriptJob, scriptDeployment, withBatchFixture } from './helpers.js';

const files = Array.from({ length: 24 }, (_, i) => `f${String(i).padStart(2, '0')}.txt`);

async function writeInputs(fixture: BatchFixture): Promise<void> {
  for (const name of files) await fixture.write(`in/${name}`, name);
}

async function assertEveryItemOnce(predictions: string | undefined): Promise<void> {
  const { rows } = await readPredictions(predictions ?? '');
  assert.deepEqual(
    rows.map((row) => row[0]),
    files,
  );
  assert.ok(rows.every((row) => row[1] === row[0]));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('a worker that SIGKILLs itself mid-mini-batch: replaced, retried, every item exactly once', async () => {
  await withBatchFixture(async (fixture) => {
    await writeInputs(fixture);
    await fixture.write(
      'score.mjs',
      `import { readFileSync } from 'node:fs';
       export function run(paths, ctx) {
         if (ctx.miniBatch.index === 1 && ctx.miniBatch.attempt === 1) process.kill(process.pid, 'SIGKILL');
         return paths.map((p) => readFileSync(p, 'utf8'));
       }`,
    );
    const status = await runScriptJob(fixture, { mini_batch_size: 4, max_concurrency_per_instance: 2 })
      .running;
    assert.equal(status.state, 'completed', status.reason);
    assert.equal(status.miniBatches.retried, 1);
    assert.equal(status.firstError?.code, 'WORKER_CRASHED');
    assert.match(status.firstError?.message ?? '', /was killed \(SIGKILL\) while running mini-batch 1/);
    await assertEveryItemOnce(status.output.predictions);
  });
});

test('the test kills the worker pid it reads from the job state: retried, every item exactly once', async () => {
  await withBatchFixture(async (fixture) => {
    await writeInputs(fixture);
    await fixture.write(
      'score.mjs',
      `import { readFileSync } from 'node:fs';
       export async function run(paths, ctx) {
         if (ctx.miniBatch.index === 2 && ctx.miniBatch.attempt === 1) await new Promise((r) => setTimeout(r, 20000));
         return paths.map((p) => readFileSync(p, 'utf8'));
       }`,
    );
    const job = runScriptJob(fixture, { mini_batch_size: 4 });
    let killed: number | undefined;
    while (killed === undefined) {
      await sleep(50);
      const jobId = job.jobId();
      if (jobId === undefined) continue;
      const state = await fixture.batch.status(jobId);
      const busy = Object.values(state.workers).find((worker) => worker.miniBatch === 2);
      if (busy?.pid !== undefined) {
        process.kill(busy.pid, 'SIGKILL');
        killed = busy.pid;
      }
    }
    const status = await job.running;
    assert.equal(status.state, 'completed', status.reason);
    assert.equal(status.miniBatches.retried, 1);
    assert.match(status.firstError?.message ?? '', new RegExp(`pid ${killed}\\) was killed`));
    await assertEveryItemOnce(status.output.predictions);
  });
});

test('the submitter SIGKILLed halfway: the job reads as interrupted, resume scores the rest, every item exactly once', async () => {
  await withBatchFixture(async (fixture) => {
    await writeInputs(fixture);
    await fixture.write(
      'score.mjs',
      `import { readFileSync } from 'node:fs';
       export async function run(paths) {
         await new Promise((r) => setTimeout(r, 100));
         return paths.map((p) => readFileSync(p, 'utf8'));
       }`,
    );
    const deployment = scriptDeployment('score.mjs', { mini_batch_size: 2, max_concurrency_per_instance: 2 });
    const child = spawn(
      process.execPath,
      [
        fileURLToPath(new URL('./run-job-child.js', import.meta.url)),
        fixture.workspace.dir,
        JSON.stringify(deployment),
        fixture.dir,
        join(fixture.dir, 'in'),
        join(fixture.dir, 'out'),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    while (!stdout.includes('\n')) await sleep(20);
    const jobId = stdout.split('\n')[0] ?? '';
    const resultsDir = join(fixture.workspace.dir, 'jobs', jobId, 'results');
    while ((await readdir(resultsDir).catch(() => [])).filter((name) => name.endsWith('.json')).length < 4)
      await sleep(20);
    child.kill('SIGKILL');
    await exited;

    const interrupted = await fixture.batch.status(jobId);
    assert.equal(interrupted.state, 'interrupted');
    assert.ok(
      interrupted.miniBatches.succeeded >= 4 && interrupted.miniBatches.succeeded < 12,
      `${interrupted.miniBatches.succeeded} done`,
    );
    const resumed = await fixture.batch.resume(jobId);
    assert.equal(resumed.state, 'completed', resumed.reason);
    assert.equal(resumed.miniBatches.succeeded, 12);
    await assertEveryItemOnce(resumed.output.predictions);
    // The resumed run re-planned nothing: it ran only the mini-batches that had no result.
    const report = (await readFile(join(fixture.workspace.dir, 'jobs', jobId, 'report.jsonl'), 'utf8'))
      .trim()
      .split('\n');
    const kept = report
      .map((line) => JSON.parse(line))
      .filter((line: { kept?: boolean }) => line.kept === true);
    assert.equal(kept.length, 12);
    await assert.rejects(fixture.batch.resume('no-such-job'), /batch job no-such-job not found/);
  });
});
