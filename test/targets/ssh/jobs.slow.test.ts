/**
 * Jobs on the ssh target through the real executable, against the test's own sshd: the code
 * snapshot and a path input ship to the machine, the command runs there (two ranks), its logs,
 * metrics and outputs come back into the run folder, and the run's folder on the machine is gone
 * afterwards. A cancel ends the whole remote process tree (a grandchild included).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isAlive } from '../../../src/jobs/local/process-group.js';
import type { JobView } from '../../../src/sdk/jobs.js';
import { Workspace } from '../../../src/sdk/workspace.js';
import { runBerth, type CliResult } from '../../helpers/cli.js';
import { sshdMissing, sshTargetArgs, startSshd, type TestSshd } from '../../helpers/sshd.js';

const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return result;
}

function createdId(stdout: string): string {
  const id = /^job (\S+) /.exec(stdout)?.[1];
  assert.ok(id, `no job id in ${JSON.stringify(stdout)}`);
  return id;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}

describe('berth job create --target <an ssh target>', { skip: sshdMissing() }, () => {
  let root: string;
  let workspace: string;
  let sshd: TestSshd;
  let workdir: string;
  const berth = (...args: string[]) => runBerth(args, { workspace, cwd: root });
  const waitFor = async (id: string): Promise<JobView> => {
    const opened = await Workspace.open({ dir: workspace });
    try {
      return await opened.jobs.wait(id, AbortSignal.timeout(120_000));
    } finally {
      await opened.close();
    }
  };

  before(async () => {
    sshd = await startSshd();
    workdir = join(sshd.dir, 'remote');
    root = await mkdtemp(join(tmpdir(), 'berth-ssh-jobs-'));
    workspace = join(root, 'ws');
    ok(await berth('init'));
    ok(await berth(...sshTargetArgs(sshd, 'lab', workdir)));
  });
  after(async () => {
    await sshd?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('runs the command there; logs, metrics and outputs come back; nothing is left there', async () => {
    const code = join(root, 'src');
    await mkdir(join(root, 'data'), { recursive: true });
    await writeFile(join(root, 'data', 'rows.csv'), 'x\n1\n2\n3\n');
    await mkdir(code, { recursive: true });
    await writeFile(
      join(code, 'train.py'),
      [
        'import os, sys, berth_run',
        'data, out = sys.argv[1], sys.argv[2]',
        'rank = int(os.environ["RANK"])',
        'rows = open(os.path.join(data, "rows.csv")).read().split()[1:]',
        'for epoch in range(3):',
        '    berth_run.log_metric("loss", (rank + 1) / (epoch + 1))',
        'open(os.path.join(out, "model-%d.txt" % rank), "w").write("rows=%d" % len(rows))',
        'print("rank", rank, "of", os.environ["WORLD_SIZE"], "trained on", len(rows), "rows, seed", os.environ["SEED"], "in", os.getcwd())',
        '# What a distributed trainer and an Azure ML script read, as on the other targets.',
        'print("task", os.environ["AZ_BATCHAI_TASK_INDEX"], "local", os.environ["LOCAL_RANK"], "group", os.environ["GROUP_RANK"], "run", os.environ["AZUREML_RUN_ID"] == os.environ["BERTH_RUN_ID"])',
      ].join('\n'),
    );
    const jobFile = join(root, 'job.yml');
    await writeFile(
      jobFile,
      [
        'type: command',
        'display_name: remote-train',
        'code: ./src',
        `command: ${python} train.py \${{inputs.data}} \${{outputs.model}}`,
        'inputs:',
        '  data: {type: uri_folder, path: ./data}',
        'outputs:',
        '  model: {type: uri_folder}',
        'environment_variables: {SEED: "7"}',
        'compute: lab',
        'resources: {instance_count: 2}',
      ].join('\n'),
    );
    const id = createdId(ok(await berth('job', 'create', '-f', jobFile)).stdout);
    const ended = await waitFor(id);
    assert.equal(ended.state, 'Completed', ended.reason);
    assert.equal(ended.targetKind, 'ssh');
    assert.deepEqual(ended.metrics, { loss: 1 / 3, 'loss[1]': 2 / 3 });
    const logs = ok(await berth('job', 'logs', id)).stdout;
    assert.match(logs, /^rank 0 of 2 trained on 3 rows, seed 7 in .*\/remote\/jobs\/.*\/code$/m);
    assert.match(logs, /^task 0 local 0 group 0 run True$/m);
    const rank1 = ok(await berth('job', 'logs', id, '--rank', '1')).stdout;
    assert.match(rank1, /^rank 1 of 2 trained on 3 rows/m);
    assert.match(rank1, /^task 1 local 1 group 0 run True$/m);
    const outputs = join(workspace, 'runs', id, 'code', 'outputs', 'model');
    assert.deepEqual(readdirSync(outputs).sort(), ['model-0.txt', 'model-1.txt']);
    assert.equal(await readFile(join(outputs, 'model-0.txt'), 'utf8'), 'rows=3');
    assert.deepEqual(readdirSync(workdir).sort(), ['cache']);
    assert.equal(readdirSync(join(workdir, 'cache')).filter((name) => name.startsWith('code-')).length, 1);
  });

  it('cancel ends the whole remote process tree and leaves the job Canceled', async () => {
    // Written by the remote user: in the remote's folder (the machine shares this one's files).
    const marker = join(sshd.dir, `child-${process.pid}.pid`);
    const id = createdId(
      ok(
        await berth('job', 'create', '--target', 'lab', '--command', `sleep 300 & echo $! > ${marker}; wait`),
      ).stdout,
    );
    const child = await until('the remote grandchild', async () => {
      const text = await readFile(marker, 'utf8').catch(() => '');
      return text.trim() === '' ? undefined : Number(text.trim());
    });
    assert.ok(isAlive(child));
    const canceled = ok(await berth('job', 'cancel', id));
    assert.equal(canceled.stdout, `job ${id} Canceled\n`);
    await until('the grandchild to end', async () => (isAlive(child) ? undefined : true), 15_000);
    const shown = JSON.parse(ok(await berth('job', 'show', id, '--json')).stdout) as JobView;
    assert.equal(shown.state, 'Canceled');
    assert.ok(!existsSync(join(workdir, 'jobs')), 'the run folder on the machine is gone');
  });

  it('retries a job whose process is killed, per max_retries; a second kill past them fails it', async () => {
    const job = async (name: string, maxRetries: number): Promise<{ id: string; pidFile: string }> => {
      // Written by the remote user: in the remote's folder. The first attempt waits to be killed.
      const pidFile = join(sshd.dir, `${name}.pid`);
      const done = join(sshd.dir, `${name}.started`);
      const file = join(root, `${name}.yml`);
      await writeFile(
        file,
        [
          'type: command',
          `command: 'if [ -f ${done} ]; then echo "second attempt"; exit 0; fi; touch ${done}; echo $$ > ${pidFile}; exec sleep 300'`,
          'compute: lab',
          `limits: {max_retries: ${maxRetries}}`,
        ].join('\n'),
      );
      return { id: createdId(ok(await berth('job', 'create', '-f', file)).stdout), pidFile };
    };
    const killWhenRunning = async (pidFile: string): Promise<void> => {
      const pid = await until('the remote command', async () => {
        const text = await readFile(pidFile, 'utf8').catch(() => '');
        return text.trim() === '' ? undefined : Number(text.trim());
      });
      process.kill(pid, 'SIGKILL');
    };

    const retried = await job('retried', 1);
    await killWhenRunning(retried.pidFile);
    const ended = await waitFor(retried.id);
    assert.equal(ended.state, 'Completed', ended.reason);
    assert.deepEqual(
      ended.attempts.map((attempt) => attempt.exitCode),
      [137, 0],
    );
    const logs = ok(await berth('job', 'logs', retried.id)).stdout;
    assert.match(logs, /attempt 1 was killed by signal 9: retrying \(1 of max_retries 1\)/);
    assert.match(logs, /^second attempt$/m);

    const failed = await job('not-retried', 0);
    await killWhenRunning(failed.pidFile);
    const given = await waitFor(failed.id);
    assert.equal(given.state, 'Failed');
    assert.equal(given.attempts.length, 1);
    assert.match(given.reason ?? '', /killed by signal 9 on 1 attempt\(s\), more than max_retries \(0\)/);
    // The runner removes the run's folder on the machine just after recording the end.
    await until('the run folders on the machine to go', async () =>
      existsSync(join(workdir, 'jobs')) ? undefined : true,
    );
  });
});
