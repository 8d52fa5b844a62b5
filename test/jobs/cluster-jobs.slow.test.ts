/**
 * Command jobs on the Redis cluster engine, with real `berth worker` processes: a training script
 * that checkpoints each step survives its worker being killed mid-run (the machine "preempted":
 * the worker and the command both SIGKILLed); another worker resumes it from the checkpoint
 * folder, the history shows both attempts, and no metric step is reported twice. A cancel ends
 * the command's whole process tree on the worker.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { isAlive, signalGroup } from '../../src/jobs/local/process-group.js';
import { RunFolder } from '../../src/jobs/run-folder.js';
import type { JobView } from '../../src/sdk/jobs.js';
import { Workspace } from '../../src/sdk/workspace.js';
import {
  redisUrl,
  removePrefix,
  startWorkerProcess,
  uniquePrefix,
  type WorkerProcess,
} from '../batch/cluster-helpers.js';
import { repoRoot, runBerth } from '../helpers/cli.js';

const prefix = uniquePrefix();
let dir = '';
let workspace = '';
const workers: WorkerProcess[] = [];

async function berth(...args: string[]) {
  return runBerth(args, { workspace, cwd: dir });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function waitFor(id: string): Promise<JobView> {
  const opened = await Workspace.open({ dir: workspace });
  try {
    return await opened.jobs.wait(id, AbortSignal.timeout(120_000));
  } finally {
    await opened.close();
  }
}

function createdId(stdout: string): string {
  const id = /^job (\S+) /.exec(stdout)?.[1];
  assert.ok(id, stdout);
  return id;
}

describe('jobs on the cluster engine', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-cluster-jobs-'));
    workspace = join(dir, 'ws');
    assert.equal((await berth('init')).code, 0);
    const target = await berth(
      'target',
      'create',
      'train-cluster',
      '--type',
      'cluster',
      '--redis',
      redisUrl,
      '--queue-prefix',
      prefix,
    );
    assert.equal(target.code, 0, target.stderr);
    for (const name of ['w1', 'w2']) {
      workers.push(
        await startWorkerProcess({
          prefix,
          name,
          cacheDir: join(dir, `cache-${name}`),
          target: { name: 'train-cluster', workspace },
        }),
      );
    }
  });

  after(async () => {
    for (const worker of workers) await worker.stop();
    await removePrefix(prefix);
    await rm(dir, { recursive: true, force: true });
  });

  it('a killed worker: another resumes from the checkpoint, each step reported once', async () => {
    const code = join(dir, 'train');
    await mkdir(code, { recursive: true });
    const sdk = pathToFileURL(join(repoRoot, 'dist/src/jobs/run-log.js')).href;
    const reached = join(dir, 'reached-step-3');
    await writeFile(
      join(code, 'train.mjs'),
      [
        `import { existsSync, readFileSync, writeFileSync } from 'node:fs';`,
        `import { run } from ${JSON.stringify(sdk)};`,
        `const checkpoint = process.env.BERTH_CHECKPOINT_DIR + '/step';`,
        `const start = existsSync(checkpoint) ? Number(readFileSync(checkpoint, 'utf8')) : 0;`,
        `console.log('starting at step', start);`,
        `for (let step = start; step < 8; step += 1) {`,
        `  run.log('loss', 10 - step, step);`,
        `  writeFileSync(checkpoint, String(step + 1));`,
        // The first attempt stops here until the test has killed its worker.
        `  if (step === 3 && start === 0) { writeFileSync(${JSON.stringify(reached)}, 'x'); await new Promise(() => setInterval(() => {}, 1000)); }`,
        `}`,
        `console.log('done');`,
      ].join('\n'),
    );
    const created = await berth(
      'job',
      'create',
      '--code',
      code,
      '--command',
      `${process.execPath} train.mjs`,
      '--target',
      'train-cluster',
    );
    assert.equal(created.code, 0, created.stderr);
    const id = createdId(created.stdout);
    await until('step 3', async () =>
      (await readFile(reached, 'utf8').catch(() => '')) === 'x' ? true : undefined,
    );

    const folder = await RunFolder.open(workspace, id);
    const running = await folder.status();
    assert.equal(running.state, 'Running');
    const first = running.attempts[0]?.where ?? '';
    const victim = workers.find((worker) =>
      first.startsWith(`${worker.output().match(/worker (\S+) connected/)?.[1]}@`),
    );
    assert.ok(victim, `the worker of ${first}`);
    // The machine goes away: the worker and everything it started.
    await victim.kill();
    for (const group of running.processGroups) signalGroup(group, 'SIGKILL');

    const ended = await waitFor(id);
    assert.equal(ended.state, 'Completed', ended.reason);
    assert.equal(ended.attempts.length, 2);
    assert.match(ended.attempts[0]?.reason ?? '', /stopped during the attempt \(killed or preempted\)/);
    assert.notEqual(ended.attempts[1]?.where, first, 'the retry ran on the other worker');
    assert.equal(ended.attempts[1]?.exitCode, 0);
    const metrics = await (async () => {
      const opened = await Workspace.open({ dir: workspace });
      try {
        return await opened.jobs.metrics(id);
      } finally {
        await opened.close();
      }
    })();
    const loss = metrics.series.find((series) => series.key === 'loss');
    assert.deepEqual(
      loss?.points.map((point) => [point.step, point.value]),
      [0, 1, 2, 3, 4, 5, 6, 7].map((step) => [step, 10 - step]),
    );
    const log = (await berth('job', 'logs', id)).stdout;
    assert.match(
      log,
      /starting at step 0[\s\S]*\[berth\] attempt 2 on w\d@\S+, from the checkpoint folder\nstarting at step 4\ndone\n$/,
    );
    const shown = await berth('job', 'show', id);
    assert.match(shown.stdout, /attempt 1: w\d@\S+, exit - — w\d@\S+ stopped during the attempt/);
    assert.match(shown.stdout, /attempt 2: w\d@\S+, exit 0/);
  });

  it('fails a job that lost its worker more than limits.max_retries times', async () => {
    workers.push(
      await startWorkerProcess({
        prefix,
        name: 'w3',
        cacheDir: join(dir, 'cache-w3'),
        target: { name: 'train-cluster', workspace },
      }),
    );
    const reached = join(dir, 'reached-once');
    const jobFile = join(dir, 'no-retries.yml');
    await writeFile(
      jobFile,
      [
        'command: echo x > ' + reached + '; sleep 300',
        'compute: azureml:train-cluster',
        'limits:',
        '  max_retries: 0',
      ].join('\n'),
    );
    const created = await berth('job', 'create', '-f', jobFile);
    assert.equal(created.code, 0, created.stderr);
    const id = createdId(created.stdout);
    await until('the first attempt', async () =>
      (await readFile(reached, 'utf8').catch(() => '')).trim() === 'x' ? true : undefined,
    );
    const running = await (await RunFolder.open(workspace, id)).status();
    const first = running.attempts[0]?.where ?? '';
    const victim = workers.find((worker) =>
      first.startsWith(`${worker.output().match(/worker (\S+) connected/)?.[1]}@`),
    );
    assert.ok(victim, `the worker of ${first}`);
    await victim.kill();
    for (const group of running.processGroups) signalGroup(group, 'SIGKILL');
    const ended = await waitFor(id);
    assert.equal(ended.state, 'Failed');
    assert.equal(ended.reason, 'the job lost its worker 1 time, more than max_retries (0)');
    assert.equal(ended.attempts.length, 1);
  });

  it('cancel ends the command on its worker and leaves the job Canceled', async () => {
    const created = await berth(
      'job',
      'create',
      '--command',
      'sleep 300 & echo $! > outputs/child.pid; wait',
      '--target',
      'train-cluster',
    );
    assert.equal(created.code, 0, created.stderr);
    const id = createdId(created.stdout);
    const pidFile = join(workspace, 'runs', id, 'code', 'outputs', 'child.pid');
    const child = await until('the child pid', async () => {
      const text = (await readFile(pidFile, 'utf8').catch(() => '')).trim();
      return text === '' ? undefined : Number(text);
    });
    assert.ok(isAlive(child));
    const canceled = await berth('job', 'cancel', id);
    assert.equal(canceled.code, 0, canceled.stderr);
    assert.equal(canceled.stdout, `job ${id} Canceled\n`);
    assert.equal(isAlive(child), false);
  });

  it('instance_count 2: two ranks on one worker, each with its RANK and WORLD_SIZE, and its own log', async () => {
    const jobFile = join(dir, 'ranks.yml');
    await writeFile(
      jobFile,
      [
        'command: >-',
        '  echo "$RANK $WORLD_SIZE $LOCAL_RANK $NODE_RANK $MASTER_ADDR $MASTER_PORT $AZ_BATCHAI_TASK_INDEX"',
        '  > outputs/rank-$RANK.txt; echo "hello from rank $RANK"',
        'compute: train-cluster',
        'resources: {instance_count: 2}',
      ].join('\n'),
    );
    const created = await berth('job', 'create', '-f', jobFile);
    assert.equal(created.code, 0, created.stderr);
    const id = createdId(created.stdout);
    const ended = await waitFor(id);
    assert.equal(ended.state, 'Completed', ended.reason);
    assert.equal(ended.instanceCount, 2);
    const outputs = join(workspace, 'runs', id, 'code', 'outputs');
    const seen = await Promise.all(
      [0, 1].map(async (rank) =>
        (await readFile(join(outputs, `rank-${rank}.txt`), 'utf8')).trim().split(' '),
      ),
    );
    assert.deepEqual(
      seen.map((fields) => fields.slice(0, 4)),
      [
        ['0', '2', '0', '0'],
        ['1', '2', '1', '0'],
      ],
    );
    assert.deepEqual(
      seen.map((fields) => fields[6]),
      ['0', '1'],
      'AZ_BATCHAI_TASK_INDEX is the rank',
    );
    assert.equal(seen[0]?.[4], '127.0.0.1');
    assert.equal(seen[0]?.[5], seen[1]?.[5], 'both ranks meet on one MASTER_PORT');
    assert.ok(Number(seen[0]?.[5]) > 0);
    assert.equal((await berth('job', 'logs', id)).stdout, 'hello from rank 0\n');
    assert.equal((await berth('job', 'logs', id, '--rank', '1')).stdout, 'hello from rank 1\n');
  });

  it('one rank failing fails the job and ends the other rank', async () => {
    const jobFile = join(dir, 'rank-fails.yml');
    await writeFile(
      jobFile,
      [
        // Rank 1 fails once rank 0's command is running, so there is something to end.
        'command: if [ "$RANK" = 1 ]; then while [ ! -s outputs/sleeper.pid ]; do sleep 0.1; done; exit 3; fi;',
        '  sleep 300 & echo $! > outputs/sleeper.pid; wait',
        'compute: train-cluster',
        'resources: {instance_count: 2}',
      ].join('\n'),
    );
    const created = await berth('job', 'create', '-f', jobFile);
    assert.equal(created.code, 0, created.stderr);
    const id = createdId(created.stdout);
    const ended = await waitFor(id);
    assert.equal(ended.state, 'Failed');
    assert.equal(ended.reason, 'rank 1 exited with code 3; the other ranks were ended');
    assert.equal(ended.exitCode, 3);
    const sleeper = Number(
      await readFile(join(workspace, 'runs', id, 'code', 'outputs', 'sleeper.pid'), 'utf8'),
    );
    assert.equal(isAlive(sleeper), false, "rank 0's command was ended");
  });

  it('instance_count 2 with its worker killed: both ranks run again together on another worker', async () => {
    workers.push(
      await startWorkerProcess({
        prefix,
        name: 'w4',
        cacheDir: join(dir, 'cache-w4'),
        target: { name: 'train-cluster', workspace },
      }),
    );
    const jobFile = join(dir, 'ranks-retried.yml');
    await writeFile(
      jobFile,
      [
        // The first attempt of each rank marks the checkpoint folder and waits to be killed.
        'command: >-',
        '  if [ -f "$BERTH_CHECKPOINT_DIR/rank-$RANK" ]; then echo "rank $RANK of $WORLD_SIZE again";',
        '  else touch "$BERTH_CHECKPOINT_DIR/rank-$RANK"; echo "rank $RANK waits"; sleep 300; fi',
        'compute: train-cluster',
        'resources: {instance_count: 2}',
        'limits: {max_retries: 1}',
      ].join('\n'),
    );
    const created = await berth('job', 'create', '-f', jobFile);
    assert.equal(created.code, 0, created.stderr);
    assert.match(
      created.stderr,
      /warning: resources\.instance_count: the 2 ranks run as 2 processes on the one worker that takes the job/,
    );
    const id = createdId(created.stdout);
    const checkpoints = join(workspace, 'runs', id, 'checkpoints');
    await until('both ranks to start', async () => {
      const marked = await Promise.all(
        [0, 1].map((rank) =>
          readFile(join(checkpoints, `rank-${rank}`)).then(
            () => true,
            () => false,
          ),
        ),
      );
      return marked.every(Boolean) ? true : undefined;
    });
    const running = await (await RunFolder.open(workspace, id)).status();
    assert.equal(running.processGroups.length, 2, 'one process group per rank, on one worker');
    const first = running.attempts[0]?.where ?? '';
    const victim = workers.find((worker) =>
      first.startsWith(`${worker.output().match(/worker (\S+) connected/)?.[1]}@`),
    );
    assert.ok(victim, `the worker of ${first}`);
    await victim.kill();
    for (const group of running.processGroups) signalGroup(group, 'SIGKILL');

    const ended = await waitFor(id);
    assert.equal(ended.state, 'Completed', ended.reason);
    assert.equal(ended.attempts.length, 2);
    assert.match(ended.attempts[0]?.reason ?? '', /stopped during the attempt \(killed or preempted\)/);
    assert.notEqual(ended.attempts[1]?.where, first, 'the retry ran on another worker');
    assert.match((await berth('job', 'logs', id)).stdout, /rank 0 waits\n[\s\S]*rank 0 of 2 again\n$/);
    assert.match(
      (await berth('job', 'logs', id, '--rank', '1')).stdout,
      /rank 1 waits\nrank 1 of 2 again\n$/,
    );
  });
});
