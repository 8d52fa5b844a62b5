/**
 * Local jobs through the real `berth` executable: a Python script that logs metrics and writes an
 * output, a JS script with two ranks logging through the TS SDK, a TypeScript script (a syntax
 * error refused, a type error run), a failing command, a timeout and a cancel that must take the
 * whole process tree with it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { isAlive } from '../../src/jobs/local/process-group.js';
import type { JobView } from '../../src/sdk/jobs.js';
import { Workspace } from '../../src/sdk/workspace.js';
import { berthBin, repoRoot, runBerth, withTempDir } from '../helpers/cli.js';

const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

async function withWorkspace(body: (dir: string, workspace: string) => Promise<void>): Promise<void> {
  await withTempDir('jobs', async (dir) => {
    const workspace = join(dir, 'ws');
    const init = await runBerth(['init'], { workspace });
    assert.equal(init.code, 0, init.stderr);
    await body(dir, workspace);
  });
}

async function berth(workspace: string, cwd: string, ...args: string[]) {
  return runBerth(args, { workspace, cwd });
}

function createdId(stdout: string): string {
  const id = /^job (\S+) /.exec(stdout)?.[1];
  assert.ok(id, `no job id in ${JSON.stringify(stdout)}`);
  return id;
}

async function waitFor(workspace: string, id: string): Promise<JobView> {
  const opened = await Workspace.open({ dir: workspace });
  try {
    return await opened.jobs.wait(id, AbortSignal.timeout(120_000));
  } finally {
    await opened.close();
  }
}

/** Polls for a file a running job writes; bounded, no fixed sleeps. */
async function fileAppears(path: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text.trim() !== '') return text.trim();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${path} did not appear`);
}

describe('local jobs', () => {
  it('runs a Python script: metrics, outputs, logs, show, list, download', async () => {
    await withWorkspace(async (dir, workspace) => {
      const code = join(dir, 'src');
      await mkdir(join(dir, 'data'), { recursive: true });
      await writeFile(join(dir, 'data', 'rows.csv'), 'x\n1\n2\n');
      await mkdir(code);
      await writeFile(
        join(code, 'train.py'),
        [
          'import os, sys, berth_run',
          'data, epochs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]',
          'rows = open(os.path.join(data, "rows.csv")).read().split()[1:]',
          'for epoch in range(epochs):',
          '    berth_run.log_metric("loss", 1.0 / (epoch + 1))',
          '    berth_run.log("accuracy", 0.5 + epoch / 10, step=epoch)',
          'open(os.path.join(out, "model.txt"), "w").write("rows=%d" % len(rows))',
          'open("logs/extra.txt", "w").write("kept")',
          'print("trained on", len(rows), "rows, seed", os.environ["SEED"])',
        ].join('\n'),
      );
      const jobFile = join(dir, 'job.yml');
      await writeFile(
        jobFile,
        [
          'type: command',
          'display_name: py-train',
          'code: ./src',
          `command: ${python} train.py \${{inputs.data}} \${{inputs.epochs}} \${{outputs.model}}`,
          'inputs:',
          '  data: {type: uri_folder, path: ./data}',
          '  epochs: 4',
          'outputs:',
          '  model: {type: uri_folder}',
          'environment_variables: {SEED: "7"}',
        ].join('\n'),
      );
      const created = await berth(workspace, dir, 'job', 'create', '-f', jobFile, '--stream');
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /trained on 2 rows, seed 7/);
      const id = /^job (\S+) Queued/m.exec(created.stderr)?.[1];
      assert.ok(id, created.stderr);

      const shown = await berth(workspace, dir, 'job', 'show', id);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /state: {5}Completed/);
      assert.match(shown.stdout, /exit code: 0/);
      assert.match(shown.stdout, /loss {6,}0\.25 {2}█▃▂▁ {2}\(4 values, min 0\.25, max 1\)/);
      assert.match(shown.stdout, /accuracy +0\.8 {2}▁▃▆█/);
      const json = JSON.parse((await berth(workspace, dir, 'job', 'show', id, '--json')).stdout) as JobView;
      assert.deepEqual(json.metrics, { loss: 0.25, accuracy: 0.8 });
      assert.equal(json.code?.files, 1);
      assert.match(json.command, /train\.py \/.*\/data 4 \/.*\/outputs\/model$/);

      const listed = await berth(workspace, dir, 'job', 'list');
      assert.match(listed.stdout, new RegExp(`${id} +py-train +Completed +local`));
      const logs = await berth(workspace, dir, 'job', 'logs', id);
      assert.match(logs.stdout, /trained on 2 rows/);

      const download = await berth(workspace, dir, 'job', 'download', id, '--output', join(dir, 'run'));
      assert.equal(download.code, 0, download.stderr);
      assert.equal(await readFile(join(dir, 'run', 'outputs', 'model', 'model.txt'), 'utf8'), 'rows=2');
      assert.equal(await readFile(join(dir, 'run', 'logs', 'extra.txt'), 'utf8'), 'kept');
      assert.match(await readFile(join(dir, 'run', 'user_logs', 'std_log.txt'), 'utf8'), /trained on/);
      const again = await berth(workspace, dir, 'job', 'download', id, '--output', join(dir, 'run'));
      assert.equal(again.code, 6, 'a second download over the first is a conflict');
    });
  });

  it('starts instance_count ranks with RANK and WORLD_SIZE; a JS script logs through the SDK', async () => {
    await withWorkspace(async (dir, workspace) => {
      const code = join(dir, 'code');
      await mkdir(code);
      const sdk = pathToFileURL(join(repoRoot, 'dist/src/jobs/run-log.js')).href;
      await writeFile(
        join(code, 'train.mjs'),
        [
          `import { run } from ${JSON.stringify(sdk)};`,
          'const rank = Number(process.env.RANK);',
          'for (let step = 0; step < 3; step += 1) run.log("loss", (rank + 1) * (3 - step));',
          'console.log(`rank ${rank} of ${process.env.WORLD_SIZE} job ${run.id}`);',
        ].join('\n'),
      );
      const created = await berth(
        workspace,
        dir,
        'job',
        'create',
        '--code',
        code,
        '--command',
        `${process.execPath} train.mjs`,
        '--instance-count',
        '2',
      );
      assert.equal(created.code, 0, created.stderr);
      const id = createdId(created.stdout);
      const ended = await waitFor(workspace, id);
      assert.equal(ended.state, 'Completed', ended.reason);
      assert.deepEqual(ended.metrics, { loss: 1, 'loss[1]': 2 });
      assert.equal((await berth(workspace, dir, 'job', 'logs', id)).stdout, `rank 0 of 2 job ${id}\n`);
      assert.equal(
        (await berth(workspace, dir, 'job', 'logs', id, '--rank', '1')).stdout,
        `rank 1 of 2 job ${id}\n`,
      );
    });
  });

  it('a TypeScript trainer: a syntax error refuses the job with file:line; a type error runs', async () => {
    await withWorkspace(async (dir, workspace) => {
      const code = join(dir, 'code');
      await mkdir(code);
      const train = join(code, 'train.ts');
      await writeFile(
        train,
        ['interface Step { loss: number }', 'const step: Step = { loss: 0.5 ;', ''].join('\n'),
      );
      const create = () =>
        berth(workspace, dir, 'job', 'create', '--code', code, '--command', 'node train.ts');
      const refused = await create();
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, new RegExp(`${train}:2:32: Expected "}" but found ";"`));
      const listed = JSON.parse((await berth(workspace, dir, 'job', 'list', '--json')).stdout) as JobView[];
      assert.deepEqual(listed, [], 'nothing recorded');

      await writeFile(
        train,
        [
          "import { run } from 'berth-run';",
          'interface Step { loss: number }',
          'const steps: Step[] = [{ loss: 0.5 }, { loss: 0.25 }];',
          "const label: number = 'typed wrong, stripped anyway';",
          "for (const step of steps) run.log('loss', step.loss);",
          'console.log(label, steps.length);',
        ].join('\n'),
      );
      const ran = await create();
      assert.equal(ran.code, 0, ran.stderr);
      const id = createdId(ran.stdout);
      const ended = await waitFor(workspace, id);
      const logs = (await berth(workspace, dir, 'job', 'logs', id)).stdout;
      assert.equal(ended.state, 'Completed', `${ended.reason}\n${logs}`);
      assert.deepEqual(ended.metrics, { loss: 0.25 });
      assert.equal(logs, 'typed wrong, stripped anyway 2\n');
    });
  });

  it('logs --follow prints what the job writes until it ends', async () => {
    await withWorkspace(async (dir, workspace) => {
      const trigger = join(dir, 'go');
      const created = await berth(
        workspace,
        dir,
        'job',
        'create',
        '--command',
        `echo start; while [ ! -e ${trigger} ]; do sleep 0.05; done; echo end`,
      );
      const id = createdId(created.stdout);
      // The follower must have printed the first line before the job can end: only following gets the rest.
      const follower = spawn(process.execPath, [berthBin, 'job', 'logs', id, '--follow'], {
        env: { ...process.env, BERTH_WORKSPACE: workspace },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let stdout = '';
      const started = new Promise<void>((resolve) =>
        follower.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk;
          if (stdout.includes('start')) resolve();
        }),
      );
      const closed = once(follower, 'close') as Promise<[number | null]>;
      await started;
      await writeFile(trigger, '');
      const [code] = await closed;
      const followed = { code, stdout };
      assert.equal(followed.code, 0);
      assert.equal(followed.stdout, 'start\nend\n');
    });
  });

  it('records a failing command with its exit code, and a timeout as Failed with the reason', async () => {
    await withWorkspace(async (dir, workspace) => {
      const failed = await berth(
        workspace,
        dir,
        'job',
        'create',
        '--command',
        'echo boom >&2; exit 3',
        '--stream',
      );
      assert.equal(failed.code, 1);
      assert.match(failed.stdout, /boom/);
      assert.match(failed.stderr, /job \S+ Failed: exited with code 3/);

      const slow = await berth(workspace, dir, 'job', 'create', '--command', 'sleep 120', '--timeout', '1');
      const id = createdId(slow.stdout);
      const ended = await waitFor(workspace, id);
      assert.equal(ended.state, 'Failed');
      assert.equal(ended.reason, 'ran past limits.timeout of 1s');
      assert.notEqual(ended.exitCode, 0);
    });
  });

  it('cancel ends the whole process tree and leaves the job Canceled', async () => {
    await withWorkspace(async (dir, workspace) => {
      // The shell starts a grandchild and waits: a cancel that killed only the shell would leave it.
      const created = await berth(
        workspace,
        dir,
        'job',
        'create',
        '--command',
        'sleep 300 & echo $! > outputs/child.pid; wait',
      );
      assert.equal(created.code, 0, created.stderr);
      const id = createdId(created.stdout);
      const child = Number(await fileAppears(join(workspace, 'runs', id, 'code', 'outputs', 'child.pid')));
      assert.ok(isAlive(child));
      const canceled = await berth(workspace, dir, 'job', 'cancel', id);
      assert.equal(canceled.code, 0, canceled.stderr);
      assert.equal(canceled.stdout, `job ${id} Canceled\n`);
      assert.equal(isAlive(child), false, 'the grandchild was ended too');
      const shown = JSON.parse((await berth(workspace, dir, 'job', 'show', id, '--json')).stdout) as JobView;
      assert.equal(shown.state, 'Canceled');
      assert.equal(shown.reason, 'canceled by request');
      const twice = await berth(workspace, dir, 'job', 'cancel', id);
      assert.equal(twice.code, 6);
      assert.match(twice.stderr, /already ended \(Canceled\)/);
    });
  });

  it('refuses a target that does not run jobs yet, naming what does', async () => {
    await withWorkspace(async (dir, workspace) => {
      const refused = await berth(
        workspace,
        dir,
        'job',
        'create',
        '--command',
        'true',
        '--target',
        'kubernetes',
      );
      assert.equal(refused.code, 8);
      assert.match(refused.stderr, /target "kubernetes" will run jobs, but not yet: run jobs on local/);
      // A cluster nobody can reach: refused, and the job is recorded as never started.
      const unreachable = await berth(
        workspace,
        dir,
        'job',
        'create',
        '--command',
        'true',
        '--target',
        'cluster:redis://127.0.0.1:1',
      );
      assert.equal(unreachable.code, 5);
      assert.match(unreachable.stderr, /cannot reach the cluster's Redis at redis:\/\/127\.0\.0\.1:1/);
      const listed = JSON.parse((await berth(workspace, dir, 'job', 'list', '--json')).stdout) as JobView[];
      assert.equal(listed.length, 1);
      assert.equal(listed[0]?.state, 'Failed');
      assert.match(listed[0]?.reason ?? '', /^not started: cannot reach/);
      const missing = await berth(workspace, dir, 'job', 'show', 'nope-1');
      assert.equal(missing.code, 3);
    });
  });
});
