import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { linear, readPredictions, withBatchFixture } from './helpers.js';

test('CSV, JSON Lines and Parquet are scored by the ONNX model itself, every row once, in order', async () => {
  await withBatchFixture(async ({ dir, batch, write }) => {
    const csvRows = Array.from({ length: 40 }, (_, i) => [i / 2, -i / 4, 1.5]);
    await write(
      'in/a.csv',
      `name,x1,x2,x3\n${csvRows.map((r, i) => (i === 5 ? 'bad,1,2' : `n${i},${r.join(',')}`)).join('\n')}\n`,
    );
    await write(
      'in/b.jsonl',
      [1, 2, 3]
        .map((v) => JSON.stringify({ x1: v, x2: 0, x3: -v }))
        .concat('{oops')
        .join('\n'),
    );
    parquetWriteFile({
      filename: join(dir, 'in', 'c.parquet'),
      columnData: [
        { name: 'x1', data: Float64Array.from([1, 2]), type: 'DOUBLE' },
        { name: 'x2', data: Float64Array.from([0.5, 0]), type: 'DOUBLE' },
        { name: 'x3', data: Float64Array.from([2, 4]), type: 'DOUBLE' },
      ],
    });
    await write('in/empty.csv', '');
    const warnings: string[] = [];
    const status = await batch.run({
      deployment: {
        name: 'tabular',
        model: 'linear:1',
        mini_batch_size: '200B',
        max_concurrency_per_instance: 2,
        surprise: 1,
      },
      input: join(dir, 'in'),
      output: join(dir, 'out'),
      onWarning: (warning) => warnings.push(warning),
    });
    assert.equal(status.state, 'completed', status.reason);
    assert.equal(status.inputType, 'tabular');
    assert.ok(status.miniBatches.total > 3, `${status.miniBatches.total} mini-batches`);
    assert.deepEqual(status.items, { total: 46, succeeded: 44, failed: 2 });
    assert.ok(
      warnings.some((w) => w.includes('unknown field "surprise"')),
      warnings.join('\n'),
    );
    assert.ok(
      warnings.some((w) => w.includes('empty.csv has no rows')),
      warnings.join('\n'),
    );

    const { header, rows } = await readPredictions(status.output.predictions ?? '');
    assert.deepEqual(header, ['key', 'y']);
    const expected = [
      ...csvRows.flatMap((r, i) =>
        i === 5 ? [] : [[`a.csv#${i}`, linear(r[0] ?? 0, r[1] ?? 0, r[2] ?? 0)]],
      ),
      ...[1, 2, 3].map((v, i) => [`b.jsonl#${i}`, linear(v, 0, -v)]),
      ['c.parquet#0', linear(1, 0.5, 2)],
      ['c.parquet#1', linear(2, 0, 4)],
    ];
    assert.deepEqual(
      rows.map(([key, y]) => [key, Number(y)]),
      expected,
    );
    const report = JSON.parse(await readFile(status.output.report ?? '', 'utf8'));
    assert.deepEqual(
      report.failedItems.map((item: { key: string; error: string }) => [item.key, item.error.slice(0, 13)]),
      [
        ['a.csv#5', 'row has 3 fie'],
        ['b.jsonl#3', 'invalid JSON:'],
      ],
    );
    assert.deepEqual(report.emptySources, [join(dir, 'in', 'empty.csv')]);
    assert.ok(
      report.miniBatches.every(
        (mb: { status: string; attempts: number }) => mb.status === 'succeeded' && mb.attempts === 1,
      ),
    );
  });
});

/** A float32 .npy file, its header padded to 64 bytes as NumPy writes it, plus `skew` bytes. */
function npy(values: number[], skew = 0): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${values.length},), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64) + skew) + '\n';
  const bytes = Buffer.alloc(10 + header.length + values.length * 4);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(bytes);
  bytes.writeUInt16LE(header.length, 8);
  bytes.write(header, 10, 'latin1');
  values.forEach((value, i) => bytes.writeFloatLE(value, 10 + header.length + i * 4));
  return bytes;
}

test('.npy and .json tensor files go through the ONNX model; a wrong shape or an unreadable file fails alone', async () => {
  await withBatchFixture(async ({ dir, batch, write, linearModelPath, workspace }) => {
    await write('t/a.npy', npy([1, 2, 3]));
    await write('t/b.json', JSON.stringify({ shape: [1, 3], data: [0, 0, 0] }));
    await write('t/c.json', JSON.stringify([[-2, 0.5, 1.5]]));
    await write('t/d.json', JSON.stringify([1, 2]));
    await symlink(join(dir, 'missing.npy'), join(dir, 't', 'e.npy'));
    const status = await batch.run({
      deployment: { name: 'tensors', model: { path: linearModelPath, name: 'linear' }, mini_batch_size: 3 },
      input: join(dir, 't'),
      output: join(dir, 'out'),
    });
    assert.equal(status.state, 'completed', status.reason);
    assert.deepEqual(status.items, { total: 5, succeeded: 3, failed: 2 });
    const { rows } = await readPredictions(status.output.predictions ?? '');
    assert.deepEqual(rows, [
      ['a.npy', '4.75'],
      ['b.json', '0.25'],
      ['c.json', '1.75'],
    ]);
    const report = JSON.parse(await readFile(status.output.report ?? '', 'utf8'));
    assert.deepEqual(
      report.failedItems.map((item: { key: string; error: string }) => [item.key, item.error]),
      [
        ['d.json', 'tensor shape [2] does not match the model input [n, 3]'],
        ['e.npy', 'cannot read: ENOENT'],
      ],
    );
    assert.equal(status.firstError?.key, 'd.json');
    // The inline model file is the one already registered as linear:1: reused, not registered again.
    assert.equal((await workspace.models.list({ name: 'linear' })).length, 1);
  });
});

test('a mini-batch runs through the model in slices (BERTH_ORT_BATCH_SIZE): every item scored once, failures alone', async () => {
  await withBatchFixture(async ({ dir, batch, write, linearModelPath }) => {
    const inputs = [
      [1, 2, 3],
      [0.5, 0.5, 0.5],
      [-1, 0, 1],
      [2, 0, -2],
      [4, 1, 0],
      [0, 0, 0],
    ];
    const names: string[] = [];
    for (const [i, values] of inputs.entries()) {
      names.push(`${i}.npy`);
      // One file's data does not start 4-byte aligned: it is copied rather than viewed in place.
      await write(`t/${i}.npy`, npy(values, i === 3 ? 1 : 0));
    }
    await write('t/2b.npy', npy([1, 2]));
    await symlink(join(dir, 'missing.npy'), join(dir, 't', '4b.npy'));
    const status = await batch.run({
      deployment: {
        name: 'slices',
        model: { path: linearModelPath, name: 'linear' },
        mini_batch_size: 8,
        environment_variables: { BERTH_ORT_BATCH_SIZE: 2 },
      },
      input: join(dir, 't'),
      output: join(dir, 'out'),
    });
    assert.equal(status.state, 'completed', status.reason);
    assert.deepEqual(status.items, { total: 8, succeeded: 6, failed: 2 });
    assert.equal(status.miniBatches.total, 1);
    const { rows } = await readPredictions(status.output.predictions ?? '');
    assert.deepEqual(
      rows,
      inputs.map(([x1 = 0, x2 = 0, x3 = 0], i) => [names[i], String(linear(x1, x2, x3))]),
    );
    const report = JSON.parse(await readFile(status.output.report ?? '', 'utf8'));
    assert.deepEqual(
      report.failedItems.map((item: { key: string; error: string }) => [item.key, item.error]),
      [
        ['2b.npy', 'tensor shape [2] does not match the model input [n, 3]'],
        ['4b.npy', 'cannot read: ENOENT'],
      ],
    );
  });
});
