import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readPredictions, scriptDeployment, withBatchFixture } from './helpers.js';

test('a TypeScript scoring script scores files; a missing result and an unreadable file fail alone; logs are per worker', async () => {
  await withBatchFixture(async ({ dir, batch, write }) => {
    for (let i = 0; i < 7; i += 1) await write(`files/f${i}.txt`, i === 4 ? 'skip me' : `hello ${i}`);
    await symlink(join(dir, 'nowhere.txt'), join(dir, 'files', 'f7.txt'));
    await write(
      'score.ts',
      `import { readFileSync } from 'node:fs';
       import { basename } from 'node:path';
       interface Ctx { logger: { info(m: string): void }; miniBatch: { index: number } }
       let prefix = '';
       export function init(): void { prefix = process.env.PREFIX ?? '?'; console.log('init done'); }
       export function run(paths: string[], ctx: Ctx): ({ name: string; length: number } | undefined)[] {
         ctx.logger.info('mini-batch ' + ctx.miniBatch.index);
         return paths.map((p) => {
           const text = readFileSync(p, 'utf8');
           return text.startsWith('skip') ? undefined : { name: prefix + basename(p), length: text.length };
         });
       }`,
    );
    const status = await batch.run({
      deployment: scriptDeployment('score.ts', {
        mini_batch_size: 3,
        environment_variables: { PREFIX: 'p-' },
      }),
      baseDir: dir,
      input: join(dir, 'files'),
      output: join(dir, 'out'),
    });
    assert.equal(status.state, 'completed', status.reason);
    assert.equal(status.inputType, 'files');
    assert.deepEqual(status.miniBatches, { total: 3, succeeded: 3, failed: 0, retried: 0, running: 0 });
    const { header, rows } = await readPredictions(status.output.predictions ?? '');
    assert.deepEqual(header, ['key', 'name', 'length']);
    assert.deepEqual(
      rows.map((row) => row[0]),
      ['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'f5.txt', 'f6.txt'],
    );
    assert.deepEqual(rows[0], ['f0.txt', 'p-f0.txt', '7']);
    const report = JSON.parse(await readFile(status.output.report ?? '', 'utf8'));
    assert.deepEqual(report.failedItems, [
      { key: 'f4.txt', error: 'run() returned no result for this item', miniBatch: 1 },
      { key: 'f7.txt', error: 'cannot read: ENOENT', miniBatch: 2 },
    ]);
    const w1 = await batch.logs(status.id, { worker: 'w1' });
    assert.ok(
      w1.some((line) => line.line === 'init done'),
      JSON.stringify(w1),
    );
    assert.ok(
      w1.some((line) => line.line === 'INFO mini-batch 0'),
      JSON.stringify(w1),
    );
    const all = await batch.logs(status.id);
    assert.ok(all.some((line) => line.worker === 'job' && line.line.startsWith('completed')));
    await assert.rejects(batch.logs(status.id, { worker: 'w9' }), /no log for worker "w9"/);
  });
});

test('results keyed by item, rows in, summary_only writes no predictions file', async () => {
  await withBatchFixture(async ({ dir, batch, write }) => {
    await write('rows/data.csv', 'a,b\n1,x\n2,y\n3,z\n');
    await write(
      'keyed.mjs',
      `export function run(rows, ctx) {
         const out = new Map();
         rows.forEach((row, i) => { if (row.a !== 2) out.set(ctx.miniBatch.keys[i], row.a * 10); });
         return out;
       }`,
    );
    const status = await batch.run({
      deployment: scriptDeployment('keyed.mjs'),
      baseDir: dir,
      input: join(dir, 'rows', 'data.csv'),
      output: join(dir, 'out'),
    });
    assert.equal(status.state, 'completed', status.reason);
    assert.deepEqual(status.items, { total: 3, succeeded: 2, failed: 1 });
    const { header, rows } = await readPredictions(status.output.predictions ?? '');
    assert.deepEqual(header, ['key', 'result']);
    assert.deepEqual(rows, [
      ['data.csv#0', '10'],
      ['data.csv#2', '30'],
    ]);

    const summary = await batch.run({
      deployment: scriptDeployment('keyed.mjs', { output_action: 'summary_only' }),
      baseDir: dir,
      input: join(dir, 'rows'),
      output: join(dir, 'summary'),
    });
    assert.equal(summary.state, 'completed');
    assert.equal(summary.output.predictions, undefined);
    assert.ok(summary.output.report?.endsWith('job-report.json'));
    assert.deepEqual(
      (await batch.list()).map((job) => job.id),
      [status.id, summary.id].sort(),
    );
  });
});
