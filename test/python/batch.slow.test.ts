/**
 * Python batch drivers (`init()`, `run(mini_batch)`) through `berth batch run` on the embedded
 * engine: a tabular driver gets DataFrames, a file driver gets paths; a driver process that dies
 * mid-attempt is replaced and the attempt retried, and every item is in the output exactly once.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { berthOk, fixtures, pythonMissing, trainSklearn, type SklearnFixture } from './helpers.js';

function definition(name: string, script: string, extra: string[] = []): string {
  return [
    `name: ${name}`,
    'model:',
    '  path: sklearn/model.pkl',
    '  name: iris',
    'code_configuration:',
    `  code: ${join(fixtures, 'batch')}`,
    `  scoring_script: ${script}`,
    'compute: embedded',
    'resources:',
    '  instance_count: 1',
    'max_concurrency_per_instance: 2',
    'mini_batch_size: 2',
    'output_action: append_row',
    'output_file_name: predictions.csv',
    'retry_settings:',
    '  max_retries: 2',
    '  timeout: 60',
    'error_threshold: 0',
    ...extra,
    '',
  ].join('\n');
}

/** The output CSV as objects, by its header. */
async function readCsv(path: string): Promise<Record<string, string>[]> {
  const [header, ...lines] = (await readFile(path, 'utf8')).trim().split('\n');
  const columns = header!.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((cell, i) => [columns[i]!, cell])));
}

describe('Python batch drivers on the embedded engine', { skip: pythonMissing }, () => {
  let root: string;
  let workspace: string;
  let sklearn: SklearnFixture;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-python-batch-'));
    workspace = join(root, 'ws');
    sklearn = await trainSklearn(join(root, 'sklearn'));
    await berthOk(workspace, 'init');
    await mkdir(join(root, 'table'));
    await writeFile(
      join(root, 'table', 'rows.csv'),
      ['id,f1,f2,f3,f4', ...sklearn.inputs.map((row, i) => `r${i},${row.join(',')}`)].join('\n') + '\n',
    );
    await mkdir(join(root, 'files'));
    for (const [i, row] of sklearn.inputs.entries()) {
      await writeFile(join(root, 'files', `item-${i}.json`), JSON.stringify(row));
    }
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('a tabular driver gets DataFrames; its rows equal the in-process predictions', async () => {
    await writeFile(join(root, 'tabular.yml'), definition('iris-tabular', 'tabular.py'));
    await berthOk(
      workspace,
      'batch',
      'run',
      '-f',
      join(root, 'tabular.yml'),
      '--input',
      join(root, 'table'),
      '--output',
      join(root, 'out-tabular'),
    );
    const rows = await readCsv(join(root, 'out-tabular', 'predictions.csv'));
    const byId = new Map(rows.map((row) => [row.id, Number(row.label)]));
    assert.equal(rows.length, sklearn.inputs.length);
    assert.deepEqual(
      sklearn.inputs.map((_, i) => byId.get(`r${i}`)),
      sklearn.predict,
    );
  });

  it('a file driver whose process dies is retried on a fresh one, and each file is in the output once', async () => {
    const marker = join(root, 'crashed-once');
    await writeFile(
      join(root, 'files.yml'),
      definition('iris-files', 'files.py', ['environment_variables:', `  CRASH_ONCE: ${marker}`]),
    );
    const out = join(root, 'out-files');
    await berthOk(
      workspace,
      'batch',
      'run',
      '-f',
      join(root, 'files.yml'),
      '--input',
      join(root, 'files'),
      '--output',
      out,
    );
    await readFile(marker); // the driver did die once
    const rows = await readCsv(join(out, 'predictions.csv'));
    const files = rows.map((row) => row.file);
    assert.equal(new Set(files).size, files.length, 'no file twice');
    assert.equal(files.length, sklearn.inputs.length);
    for (const row of rows) {
      const index = Number(/item-(\d+)\.json/.exec(row.file ?? '')?.[1]);
      assert.equal(Number(row.label), sklearn.predict[index]);
    }
    const report = JSON.parse(await readFile(join(out, 'job-report.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.match(JSON.stringify(report), /"retried":[1-9]/);
  });
});
