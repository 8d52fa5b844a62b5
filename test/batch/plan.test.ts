import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import type { MiniBatchPlan } from '../../src/batch/engine.js';
import { readCsvRows } from '../../src/batch/inputs/csv.js';
import { readJsonlRows } from '../../src/batch/inputs/jsonl.js';
import { readParquetRows } from '../../src/batch/inputs/parquet.js';
import { displayKey, planJob } from '../../src/batch/plan.js';

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-plan-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function rowsPlans(plans: MiniBatchPlan[]): Extract<MiniBatchPlan, { kind: 'rows' }>[] {
  return plans.flatMap((plan) => {
    assert.equal(plan.kind, 'rows');
    return plan.kind === 'rows' ? [plan] : [];
  });
}

test('files are cut by count in sorted order; globs and folders expand', async () => {
  await withDir(async (dir) => {
    await mkdir(join(dir, 'in', 'sub'), { recursive: true });
    for (let i = 0; i < 23; i += 1)
      await writeFile(join(dir, 'in', i < 3 ? 'sub' : '', `f${String(i).padStart(2, '0')}.bin`), 'x');
    await writeFile(join(dir, 'in', '.hidden'), 'x');
    const plan = await planJob([join(dir, 'in')], 'auto', undefined);
    assert.equal(plan.inputType, 'files');
    assert.deepEqual(plan.itemCounts, [10, 10, 3]);
    const all = plan.miniBatches.flatMap((mb) => (mb.kind === 'files' ? mb.paths : []));
    assert.deepEqual(all, [...all].sort());
    assert.equal(new Set(all).size, 23);
    assert.equal(displayKey(all[0] ?? '', plan.root), 'f03.bin');

    const globbed = await planJob([join(dir, 'in', '**', 'f0{0,1}.bin')], 'auto', 4);
    assert.deepEqual(globbed.itemCounts, [2]);
    await assert.rejects(planJob([join(dir, 'in')], 'files', '1MB'), /mini_batch_size: "1MB" is a size/);
    await assert.rejects(planJob([join(dir, 'in', '*.none')], 'auto', 4), /no input files matched/);
  });
});

test('CSV and JSON Lines are cut by bytes, never across files, and read back row for row', async () => {
  await withDir(async (dir) => {
    const csv = ['a,b,c', ...Array.from({ length: 50 }, (_, i) => `${i},${i * 2},"text, ${i}"`)].join('\n');
    await writeFile(join(dir, 'a.csv'), `${csv}\n`);
    const jsonl = Array.from({ length: 30 }, (_, i) => JSON.stringify({ n: i, s: 'x'.repeat(i) })).join(
      '\n\n',
    );
    await writeFile(join(dir, 'b.jsonl'), jsonl);
    const plan = await planJob([dir], 'auto', '200B');
    assert.equal(plan.inputType, 'tabular');
    const plans = rowsPlans(plan.miniBatches);
    assert.ok(plans.length > 4);
    // Row ranges tile each source exactly, in order.
    for (const source of ['a.csv', 'b.jsonl']) {
      const mine = plans.filter((p) => p.source.endsWith(source));
      let next = 0;
      for (const p of mine) {
        assert.equal(p.firstRow, next);
        assert.ok(p.byteRange !== undefined);
        next += p.rowCount;
      }
      assert.equal(next, source === 'a.csv' ? 50 : 30);
    }
    assert.equal(plan.totalItems, 80);
    const csvValues = [];
    for (const p of plans.filter((x) => x.format === 'csv')) {
      csvValues.push(...(await readCsvRows(p.source, p.firstRow, p.rowCount, p.byteRange)));
    }
    assert.deepEqual(csvValues[7], { row: 7, value: { a: 7, b: 14, c: 'text, 7' } });
    assert.deepEqual(
      csvValues.map((r) => r.row),
      Array.from({ length: 50 }, (_, i) => i),
    );
    const last = plans.filter((x) => x.format === 'jsonl').at(-1);
    assert.ok(last);
    const read = await readJsonlRows(last.source, last.firstRow, last.rowCount, last.byteRange);
    assert.deepEqual(read.at(-1), { row: 29, value: { n: 29, s: 'x'.repeat(29) } });
    // Without byte ranges the reader counts rows from the start and finds the same rows.
    assert.deepEqual(await readJsonlRows(last.source, last.firstRow, last.rowCount, undefined), read);
  });
});

test('bad CSV rows and bad JSON lines are items with an error; the rest read', async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, 'bad.csv'), 'x1,x2,x3\n1,2,3\n4,5\n6,7,8\n');
    const rows = await readCsvRows(join(dir, 'bad.csv'), 0, 3, undefined);
    assert.deepEqual(rows[0], { row: 0, value: { x1: 1, x2: 2, x3: 3 } });
    assert.deepEqual(rows[1], { row: 1, error: 'row has 2 fields, the header has 3' });
    assert.deepEqual(rows[2], { row: 2, value: { x1: 6, x2: 7, x3: 8 } });

    await writeFile(join(dir, 'quote.csv'), 'a,b\n1,2\n3,"bad"x\n5,6\n');
    const plan = await planJob([join(dir, 'quote.csv')], 'auto', '1MB');
    const [only] = rowsPlans(plan.miniBatches);
    assert.ok(only);
    assert.equal(only.byteRange, undefined, 'a file with a skipped record is read by counting rows');
    const quoted = await readCsvRows(only.source, only.firstRow, only.rowCount, only.byteRange);
    assert.deepEqual(quoted[0], { row: 0, value: { a: 1, b: 2 } });
    // csv-parse cannot tell where a broken quote ends, so what follows it is one bad record.
    assert.match((quoted[1] as { error: string }).error, /^malformed CSV record: /);
    assert.equal(quoted.length, only.rowCount);

    await writeFile(join(dir, 'lines.jsonl'), '{"a":1}\nnot json\n[1]\n');
    const lines = await readJsonlRows(join(dir, 'lines.jsonl'), 0, 3, undefined);
    assert.deepEqual(lines[0], { row: 0, value: { a: 1 } });
    assert.match((lines[1] as { error: string }).error, /^invalid JSON/);
    assert.deepEqual(lines[2], { row: 2, error: 'line is not a JSON object' });
  });
});

test('Parquet is cut by average row size; empty sources are reported, not planned', async () => {
  await withDir(async (dir) => {
    const n = 1000;
    parquetWriteFile({
      filename: join(dir, 'p.parquet'),
      columnData: [
        { name: 'id', data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), type: 'INT64' },
        { name: 'x', data: Float64Array.from({ length: n }, (_, i) => i / 2), type: 'DOUBLE' },
      ],
    });
    await writeFile(join(dir, 'empty.csv'), 'a,b\n');
    const plan = await planJob([dir], 'auto', '2KB');
    assert.deepEqual(plan.emptySources, [join(dir, 'empty.csv')]);
    const plans = rowsPlans(plan.miniBatches);
    assert.ok(plans.length > 2, `${plans.length} mini-batches`);
    assert.equal(
      plans.reduce((sum, p) => sum + p.rowCount, 0),
      n,
    );
    const second = plans[1];
    assert.ok(second);
    const rows = await readParquetRows(second.source, second.firstRow, second.rowCount);
    assert.deepEqual(rows[0], {
      row: second.firstRow,
      value: { id: second.firstRow, x: second.firstRow / 2 },
    });
  });
});
