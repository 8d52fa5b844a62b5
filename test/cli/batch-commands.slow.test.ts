/**
 * The README's "Batch scoring" lines that test/batch/cli.test.ts does not run through the real
 * executable: `batch status`, `logs`, `cancel` and `resume` on a job that a separate `batch run`
 * process is running, and `berth worker --cluster … --concurrency 2` taking the mini-batches of
 * `batch run --input 'data/*.csv' --target cluster:redis://…`.
 *
 * The cluster test uses the README's default queue prefix, so it keeps to a Redis database of its
 * own (the URL's /db) instead of the 0 that the other suites share, and clears its keys there.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { closeRedis, connectNow, createRedis, deleteKeysUnder } from '../../src/batch/cluster/connection.js';
import { parseClusterAddress } from '../../src/batch/cluster/config.js';
import { berthBin, repoRoot, runBerth, withTempDir, type CliResult } from '../helpers/cli.js';

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return result;
}

/** The real executable in the background, its output kept. */
function startBerth(args: string[], options: { workspace: string; cwd: string }) {
  const child = spawn(process.execPath, [berthBin, ...args], {
    cwd: options.cwd,
    env: { ...process.env, BERTH_WORKSPACE: options.workspace },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    running,
    exited,
    async stop(): Promise<number | null> {
      if (running()) child.kill('SIGTERM');
      return exited;
    },
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface JobStatus {
  id: string;
  state: string;
  engine: string;
  items: { total: number; succeeded: number; failed: number };
  miniBatches: { succeeded: number; total: number };
  workers: Record<string, unknown>;
  output: { predictions?: string };
}

// Files f0 and f1 score at once; the others wait while the file `hold` exists, so the cancel lands
// mid-job however fast the machine is. Removing `hold` lets a resume score the rest at once.
const heldScript = (hold: string) => `import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
export async function run(paths) {
  const held = !['f0', 'f1'].includes(basename(paths[0])) && existsSync(${JSON.stringify(hold)});
  await new Promise((r) => setTimeout(r, held ? 30_000 : 10));
  return paths.map((p) => readFileSync(p, 'utf8'));
}
`;

test('batch status, logs, cancel and resume on a job another batch run process is running', async () => {
  await withTempDir('batch-cancel', async (dir) => {
    const workspace = join(dir, 'ws');
    const berth = (...args: string[]) => runBerth(args, { workspace, cwd: dir });
    ok(await berth('init'));
    const files = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5'];
    await mkdir(join(dir, 'in'));
    for (const file of files) await writeFile(join(dir, 'in', file), `text of ${file}`);
    await writeFile(join(dir, 'score.mjs'), heldScript(join(dir, 'hold')));
    await writeFile(join(dir, 'hold'), '');
    await writeFile(
      join(dir, 'deployment.yml'),
      'name: held\ncode_configuration:\n  code: .\n  scoring_script: score.mjs\nmini_batch_size: 1\noutput_action: append_row\n',
    );

    const run = startBerth(['batch', 'run', '-f', 'deployment.yml', '--input', 'in', '--output', 'out/'], {
      workspace,
      cwd: dir,
    });
    try {
      const jobId = await waitFor('the job id', async () => /^job (\S+) started$/m.exec(run.stderr())?.[1]);
      await waitFor('two mini-batches done', async () => {
        const status = JSON.parse(ok(await berth('batch', 'status', jobId, '--json')).stdout) as JobStatus;
        return status.miniBatches.succeeded >= 2 ? status : undefined;
      });
      const text = ok(await berth('batch', 'status', jobId)).stdout;
      assert.match(text, /state: {8}running/);
      assert.match(text, /mini-batches: 2\/6 done, 0 failed/);
      assert.match(text, /rate: .* items\/s, ETA /);

      assert.equal(ok(await berth('batch', 'cancel', jobId)).stdout, `job ${jobId}: canceled\n`);
      assert.equal(await run.exited, 1, 'batch run ends with the job');
      assert.match(run.stderr(), new RegExp(`berth: error: batch job ${jobId} canceled`));
      assert.match(ok(await berth('batch', 'status', jobId)).stdout, /state: {8}canceled/);

      await rm(join(dir, 'hold'));
      const resumed = JSON.parse(ok(await berth('batch', 'resume', jobId, '--json')).stdout) as JobStatus;
      assert.equal(resumed.state, 'completed');
      assert.deepEqual(resumed.items, { total: 6, succeeded: 6, failed: 0 });
      const predictions = await readFile(resumed.output.predictions ?? '', 'utf8');
      for (const file of files) {
        assert.equal(predictions.split(`text of ${file}`).length - 1, 1, `${file} once: ${predictions}`);
      }

      // Every worker's lines and the coordinator's (job), in time order, across both runs.
      const logs = ok(await berth('batch', 'logs', jobId))
        .stdout.trimEnd()
        .split('\n');
      const times = logs.map((line) => /^(\d{4}-\d\d-\d\dT\S+Z) \S+ /.exec(line)?.[1] ?? 'not a log line');
      assert.deepEqual(times, [...times].sort(), logs.join('\n'));
      const job = logs
        .filter((line) => / job {2}/.test(line))
        .map((line) => line.replace(/^\S+ job {2}/, ''));
      assert.deepEqual(
        [job[0], job.includes('canceled: canceled (berth batch cancel)'), job.at(-1)],
        ['running 6 of 6 mini-batches on embedded', true, 'completed'],
        logs.join('\n'),
      );
      assert.ok(job.includes('running 4 of 6 mini-batches on embedded'), 'resume ran only the rest');
      assert.ok(
        logs.some((line) => / w1 {3}\[berth\] process \d+ started$/.test(line)),
        'a worker line',
      );
    } finally {
      await run.stop();
    }
  });
});

test('berth worker --cluster … --concurrency 2 runs the mini-batches of batch run --target cluster:…', async () => {
  // One of databases 1-15, by pid, so two runs of this suite at once rarely share one.
  const redisUrl = `redis://127.0.0.1:6379/${1 + (process.pid % 15)}`;
  const clearQueue = async () => {
    const redis = createRedis(parseClusterAddress(redisUrl), 'berth-test-admin', 'plain');
    await connectNow(redis);
    try {
      await deleteKeysUnder(redis, 'berth');
    } finally {
      await closeRedis(redis);
    }
  };
  await withTempDir('batch-cluster-cli', async (dir) => {
    const workspace = join(dir, 'ws');
    const berth = (...args: string[]) => runBerth(args, { workspace, cwd: dir });
    ok(await berth('init'));
    const [header, ...rows] = (
      await readFile(join(repoRoot, 'examples/batch/tabular/data/points.csv'), 'utf8')
    )
      .trim()
      .split('\n');
    const half = Math.ceil(rows.length / 2);
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'data', 'a.csv'), [header, ...rows.slice(0, half)].join('\n') + '\n');
    await writeFile(join(dir, 'data', 'b.csv'), [header, ...rows.slice(half)].join('\n') + '\n');
    await writeFile(join(dir, 'data', 'notes.txt'), 'not matched by the glob');
    await writeFile(
      join(dir, 'deployment.yml'),
      (await readFile(join(repoRoot, 'examples/batch/tabular/deployment.yml'), 'utf8')).replace(
        'path: ../../models/linear.onnx',
        `path: ${join(repoRoot, 'examples/models/linear.onnx')}`,
      ),
    );

    await clearQueue();
    const worker = startBerth(['worker', '--cluster', redisUrl, '--concurrency', '2'], {
      workspace,
      cwd: dir,
    });
    try {
      const name = await waitFor('the worker to connect', async () => {
        if (!worker.running()) assert.fail(`the worker exited: ${worker.stderr()}`);
        return /^worker (\S+) connected to /m.exec(worker.stdout())?.[1];
      });
      const run = ok(
        await berth(
          'batch',
          'run',
          '-f',
          'deployment.yml',
          '--input',
          'data/*.csv',
          '--output',
          'out/',
          '--target',
          `cluster:${redisUrl}`,
          '--json',
        ),
      );
      const status = JSON.parse(run.stdout) as JobStatus;
      assert.equal(status.state, 'completed');
      assert.equal(status.engine, 'cluster');
      assert.deepEqual(status.items, { total: rows.length, succeeded: rows.length, failed: 0 });
      assert.deepEqual(Object.keys(status.workers), [name], 'the worker took the mini-batches');
      // key,y with the key file#row: every row of both files once, y = 0.5*x1 - x2 + 2*x3 + 0.25.
      const [columns, ...predictions] = (await readFile(status.output.predictions ?? '', 'utf8'))
        .trim()
        .split('\n');
      assert.equal(columns, 'key,y');
      const expected = new Map(
        rows.map((row, index) => {
          const [x1, x2, x3] = row.split(',').slice(1).map(Number) as [number, number, number];
          const key = index < half ? `a.csv#${index}` : `b.csv#${index - half}`;
          return [key, 0.5 * x1 - x2 + 2 * x3 + 0.25];
        }),
      );
      assert.deepEqual(predictions.map((line) => line.split(',')[0]).sort(), [...expected.keys()].sort());
      for (const line of predictions) {
        const [key, y] = line.split(',');
        assert.ok(Math.abs(Number(y) - (expected.get(key ?? '') ?? NaN)) < 1e-5, line);
      }
    } finally {
      assert.equal(await worker.stop(), 0, `the worker leaves cleanly on SIGTERM: ${worker.stderr()}`);
      await clearQueue();
    }
  });
});
