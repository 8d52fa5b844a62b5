/**
 * Tables and images in run history, through each writer a script can use: berth's own `run`
 * (run-log.ts), the `berth-run` package every runner writes beside the code, and the Python
 * module (Debian's Python, with pandas for the DataFrame form) — all read back by `readHistory`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readHistory, readTable } from '../../src/jobs/history.js';
import { RunFolder } from '../../src/jobs/run-folder.js';
import { createJobRun } from '../../src/jobs/run-log.js';
import { prepareWorkDir } from '../../src/jobs/work-dir.js';
import { withTempDir } from '../helpers/cli.js';

const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

async function runFolder(dir: string): Promise<RunFolder> {
  const folder = RunFolder.at(join(dir, 'run'), 'run');
  await mkdir(folder.dir, { recursive: true });
  await prepareWorkDir(folder, []);
  await writeFile(join(dir, 'plot.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  return folder;
}

function envOf(folder: RunFolder): Record<string, string> {
  return {
    ...process.env,
    BERTH_RUN_ID: 'run',
    BERTH_RUN_METRICS: folder.metricsFile,
    BERTH_RUN_HISTORY: folder.historyDir,
    PYTHONPATH: join(folder.dir, 'sdk', 'python'),
  };
}

describe('run history: tables and images', () => {
  it("berth's run appends table rows, copies images, and refuses names with folders", async () => {
    await withTempDir('history', async (dir) => {
      const folder = await runFolder(dir);
      const run = createJobRun(envOf(folder));
      run.logTable('eval', [{ cls: 'a', acc: 0.9 }]);
      run.logTable('eval.json', [{ cls: 'b', acc: 0.8, n: 3 }]);
      run.logImage('confusion', join(dir, 'plot.png'));
      assert.throws(() => run.logTable('../escape', [{}]), /table name "\.\.\/escape"/);
      assert.throws(() => run.logImage('x', join(dir, 'notes.txt')), /expected one of \.png/);
      assert.throws(() => run.logTable('rows', [[1, 2]]), /array of row objects/);
      await writeFile(join(folder.historyDir, 'tables', 'eval.jsonl'), 'cut-off {"cls\n', { flag: 'a' });
      const history = await readHistory(folder);
      assert.deepEqual(history.tables, [{ name: 'eval', rows: 2, columns: ['cls', 'acc', 'n'], skipped: 1 }]);
      assert.deepEqual(history.images, [{ file: 'confusion.png', bytes: 4 }]);
      // Outside a job nothing is written and nothing fails.
      createJobRun({}).logTable('eval', [{ a: 1 }]);
    });
  });

  it('the berth-run package beside the code logs the same files from a plain node script', async () => {
    await withTempDir('history', async (dir) => {
      const folder = await runFolder(dir);
      await mkdir(folder.workDir, { recursive: true });
      await writeFile(
        join(folder.workDir, 'train.mjs'),
        [
          "import { run } from 'berth-run';",
          "run.log('loss', 0.5, 0);",
          "run.logTable('weights', [{ feature: 'x0', weight: 0.5 }]);",
          `run.logImage('curve.png', ${JSON.stringify(join(dir, 'plot.png'))});`,
        ].join('\n'),
      );
      const result = spawnSync(process.execPath, ['train.mjs'], { cwd: folder.workDir, env: envOf(folder) });
      assert.equal(result.status, 0, result.stderr.toString());
      const history = await readHistory(folder);
      assert.deepEqual(
        history.tables.map((table) => [table.name, table.rows]),
        [['weights', 1]],
      );
      assert.deepEqual(
        history.images.map((image) => image.file),
        ['curve.png'],
      );
      assert.match(await readFile(folder.metricsFile, 'utf8'), /"key":"loss","value":0.5/);
    });
  });

  it('the Python module logs rows, columns, a DataFrame and images, with MLflow keywords too', async () => {
    await withTempDir('history', async (dir) => {
      const folder = await runFolder(dir);
      const script = [
        'import berth_run',
        'berth_run.log_table("rows", [{"a": 1, "b": "x"}])',
        'berth_run.log_table("cols", {"a": [1, 2], "b": [3, 4]})',
        'berth_run.log_table(data={"c": [5]}, artifact_file="mlflow.json")',
        'try:',
        '    import pandas',
        '    berth_run.log_table("frame", pandas.DataFrame({"p": [1.5, 2.5]}))',
        'except ImportError:',
        '    berth_run.log_table("frame", [{"p": 1.5}, {"p": 2.5}])',
        `berth_run.log_image("plot", ${JSON.stringify(join(dir, 'plot.png'))})`,
        `berth_run.log_image(image=${JSON.stringify(join(dir, 'plot.png'))}, artifact_file="again.png")`,
        'try:',
        '    berth_run.log_table("../up", [{"a": 1}])',
        'except ValueError as error:',
        '    print("refused:", error)',
      ].join('\n');
      const result = spawnSync(python, ['-c', script], { env: envOf(folder) });
      assert.equal(result.status, 0, result.stderr.toString());
      assert.match(result.stdout.toString(), /refused: table name '\.\.\/up'/);
      const history = await readHistory(folder);
      assert.deepEqual(
        history.tables.map((table) => [table.name, table.rows, table.columns]),
        [
          ['cols', 2, ['a', 'b']],
          ['frame', 2, ['p']],
          ['mlflow', 1, ['c']],
          ['rows', 1, ['a', 'b']],
        ],
      );
      assert.deepEqual((await readTable(folder, 'cols')).rows, [
        { a: 1, b: 3 },
        { a: 2, b: 4 },
      ]);
      assert.deepEqual(
        history.images.map((image) => image.file),
        ['again.png', 'plot.png'],
      );
    });
  });
});
