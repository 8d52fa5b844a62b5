/**
 * Command jobs on the container target, through the real `berth` executable and a real Docker
 * Engine: the Node example (examples/jobs/linear-node) fits a linear model inside the container by
 * gradient descent on the bound data, logs its loss and a table, writes ONNX into outputs/, and the
 * ONNX is registered from the job and run with ONNX Runtime; a Python trainer whose requirements.txt
 * names scikit-learn does the same on the target's Python layer (Debian's python3 and packages, on a
 * base image with no Python), and a requirement no Debian package provides is refused at submit; a
 * script's image and table come back with `job download`. A cancel stops the
 * container (held to the job's cpu, memory and shm limits) and leaves the job Canceled; a runner
 * killed mid-run takes its container with it; a timeout and a failing command are Failed with
 * their reasons; two ranks run as two containers that reach each other; nothing is left running.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { isAlive } from '../../src/jobs/local/process-group.js';
import { RunFolder } from '../../src/jobs/run-folder.js';
import type { JobView } from '../../src/sdk/jobs.js';
import { Workspace } from '../../src/sdk/workspace.js';
import { dockerOrSkip, testEngine } from '../fixtures/docker-base-image.js';
import { repoRoot, runBerth } from '../helpers/cli.js';
import { ensureJobTestBaseImage } from './job-base-image.js';

const skip = await dockerOrSkip();
const targetName = `jobs-docker-${process.pid}`;

let dir = '';
let workspace = '';

async function berth(...args: string[]) {
  return runBerth(args, { workspace, cwd: dir });
}

function createdId(stdout: string): string {
  const id = /^job (\S+) /.exec(stdout)?.[1];
  assert.ok(id, `no job id in ${JSON.stringify(stdout)}`);
  return id;
}

async function waitFor(id: string): Promise<JobView> {
  const opened = await Workspace.open({ dir: workspace });
  try {
    return await opened.jobs.wait(id, AbortSignal.timeout(180_000));
  } finally {
    await opened.close();
  }
}

async function runContainers(id: string) {
  return testEngine().listContainers({ all: true, filters: JSON.stringify({ label: [`berth.run=${id}`] }) });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('jobs on the container target', { skip }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-container-jobs-'));
    workspace = join(dir, 'ws');
    assert.equal((await berth('init')).code, 0);
    const image = await ensureJobTestBaseImage();
    const target = await berth('target', 'create', targetName, '--type', 'container', '--base-image', image);
    assert.equal(target.code, 0, target.stderr);
  });

  after(async () => {
    const engine = testEngine();
    for (const name of [targetName]) {
      const left = await engine.listContainers({
        all: true,
        filters: JSON.stringify({ label: [`berth.target=${name}`] }),
      });
      await Promise.all(left.map((container) => engine.getContainer(container.Id).remove({ force: true })));
    }
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('trains the Node example in a container: metrics, table, outputs; the ONNX registers from the job and scores', async () => {
    const created = await berth(
      'job',
      'create',
      '-f',
      join(repoRoot, 'examples/jobs/linear-node/job.yml'),
      '--target',
      `azureml:${targetName}`,
      '--stream',
    );
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /epoch 9: mse \S+ on 40 rows/);
    assert.doesNotMatch(created.stderr, /warning: resources/, 'a container holds the job to its resources');
    const id = /^job (\S+) Queued/m.exec(created.stderr)?.[1];
    assert.ok(id, created.stderr);

    const job = JSON.parse((await berth('job', 'show', id, '--json')).stdout) as JobView;
    assert.equal(job.state, 'Completed', job.reason);
    assert.equal(job.targetKind, 'container');
    assert.match(
      job.command,
      /^node train\.ts --data \/berth\/inputs\/training_data --epochs 10 --model \/berth\/run\/code\/outputs\/model$/,
    );
    assert.match(job.attempts[0]?.where ?? '', /^container berth-job-/);
    assert.ok((job.metrics.mse ?? 1) < 0.01, `mse ${job.metrics.mse}`);
    assert.deepEqual(
      job.tables.map((table) => [table.name, table.rows, table.columns]),
      [['weights', 4, ['parameter', 'value']]],
    );
    const shown = (await berth('job', 'show', id)).stdout;
    assert.match(shown, /mse +\S+ {2}[▁▂▃▄▅▆▇█]{10} {2}\(10 values/);
    assert.match(shown, /table: +weights {2}4 rows {2}\(parameter, value\)/);
    assert.deepEqual(await runContainers(id), [], 'the container is removed once the job has ended');

    const registered = await berth(
      'model',
      'register',
      '--name',
      'container-linear',
      '--from-job',
      id,
      '--path',
      'outputs/model/model.onnx',
    );
    assert.equal(registered.code, 0, registered.stderr);
    assert.match(registered.stdout, /^registered container-linear:1 \(onnx/);
    const session = await ort.InferenceSession.create(
      await readFile(join(workspace, 'runs', id, 'code', 'outputs', 'model', 'model.onnx')),
    );
    const row = [1, 2, 3];
    const result = await session.run({ x: new ort.Tensor('float32', Float32Array.from(row), [1, 3]) });
    // The data hold y = 0.5·x0 − x1 + 2·x2 + 0.25 plus a little noise.
    const expected = 0.5 * 1 - 2 + 2 * 3 + 0.25;
    const scored = (result.y?.data as Float32Array)[0] ?? Number.NaN;
    assert.ok(Math.abs(scored - expected) < 0.1, `scored ${scored}, expected about ${expected}`);
  });

  it("runs a Python job on the target's Python layer: Debian's scikit-learn, berth_run metrics and table", async () => {
    // The target's base image has no Python: the job's requirements.txt gets it the Python layer.
    const code = join(dir, 'py-train');
    await mkdir(code, { recursive: true });
    await copyFile(join(repoRoot, 'examples/jobs/linear/src/onnx_linear.py'), join(code, 'onnx_linear.py'));
    await writeFile(
      join(code, 'train.py'),
      [
        '# Gradient descent on the example data; scikit-learn comes from the Python layer.',
        'import os, sys, berth_run, sklearn',
        'from onnx_linear import linear_onnx',
        'data, out = sys.argv[1], sys.argv[2]',
        'lines = open(os.path.join(data, "train.csv")).read().split()[1:]',
        'rows = [[float(v) for v in line.split(",")] for line in lines]',
        'w, b = [0.0, 0.0, 0.0], 0.0',
        'for epoch in range(8):',
        '    for _ in range(25):',
        '        g, gb, loss = [0.0, 0.0, 0.0], 0.0, 0.0',
        '        for *x, y in rows:',
        '            e = sum(wi * xi for wi, xi in zip(w, x)) + b - y',
        '            loss += e * e',
        '            g = [gi + e * xi for gi, xi in zip(g, x)]',
        '            gb += e',
        '        w = [wi - 0.02 * gi / len(rows) for wi, gi in zip(w, g)]',
        '        b -= 0.02 * gb / len(rows)',
        '    berth_run.log_metric("mse", loss / len(rows), step=epoch)',
        'berth_run.log_table("weights", {"parameter": ["x0", "x1", "x2", "bias"], "value": w + [b]})',
        'open(os.path.join(out, "model.onnx"), "wb").write(linear_onnx(w, b))',
        'print("python", sys.version.split()[0], sys.executable, "sklearn", sklearn.__version__, "rank", os.environ["RANK"], "of", os.environ["WORLD_SIZE"])',
      ].join('\n'),
    );
    await writeFile(join(code, 'requirements.txt'), 'scikit-learn\n');
    const created = await berth(
      'job',
      'create',
      '--code',
      code,
      '--command',
      'python3 train.py ${{inputs.data}} ${{outputs.model}}',
      '--input',
      `data=${join(repoRoot, 'examples/jobs/linear/data')}`,
      '--output',
      'model',
      '--target',
      targetName,
      '--stream',
    );
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^python 3\.\d+\.\d+ \/usr\/bin\/python3 sklearn \d+\.\d+\S* rank 0 of 1$/m);
    const id = /^job (\S+) Queued/m.exec(created.stderr)?.[1];
    assert.ok(id, created.stderr);
    const job = JSON.parse((await berth('job', 'show', id, '--json')).stdout) as JobView;
    assert.equal(job.state, 'Completed', job.reason);
    assert.ok((job.metrics.mse ?? 1) < 0.05, `mse ${job.metrics.mse}`);
    assert.deepEqual(
      job.tables.map((table) => [table.name, table.rows]),
      [['weights', 4]],
    );
    const registered = await berth(
      'model',
      'register',
      '--name',
      'python-container-linear',
      '--from-job',
      id,
      '--path',
      'outputs/model/model.onnx',
    );
    assert.equal(registered.code, 0, registered.stderr);
    assert.match(registered.stdout, /^registered python-container-linear:1 \(onnx/);
  });

  it('refuses a Python requirement no installed Debian package provides, before anything runs', async () => {
    const code = join(dir, 'py-missing');
    await mkdir(code, { recursive: true });
    await writeFile(join(code, 'requirements.txt'), 'scikit-learn\nno-such-project-here==1.0\n');
    const runs = async () => (await readdir(join(workspace, 'runs'))).length;
    const before = await runs();
    const refused = await berth(
      'job',
      'create',
      '--code',
      code,
      '--command',
      'python3 -c 1',
      '--target',
      targetName,
    );
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /requirements\.txt:2: no-such-project-here: Debian package python3-no-such-project-here is not installed on this machine \(apt-get install python3-no-such-project-here\)/,
    );
    assert.equal(await runs(), before, 'no run was recorded');
  });

  it('keeps an image the command logs, and job download copies the tables and images', async () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>';
    const code = join(dir, 'plot');
    await mkdir(code, { recursive: true });
    await writeFile(
      join(code, 'plot.mjs'),
      [
        "import { writeFileSync } from 'node:fs';",
        "import { run } from 'berth-run';",
        `writeFileSync('curve.svg', ${JSON.stringify(svg)});`,
        "run.logImage('loss-curve', 'curve.svg');",
        "run.logTable('rows', [{ a: 1 }, { a: 2 }]);",
      ].join('\n'),
    );
    const created = await berth(
      'job',
      'create',
      '--code',
      code,
      '--command',
      'node plot.mjs',
      '--target',
      targetName,
      '--stream',
    );
    assert.equal(created.code, 0, created.stderr);
    const id = /^job (\S+) Queued/m.exec(created.stderr)?.[1];
    assert.ok(id, created.stderr);
    const job = JSON.parse((await berth('job', 'show', id, '--json')).stdout) as JobView;
    assert.deepEqual(job.images, [{ file: 'loss-curve.svg', bytes: svg.length }]);
    assert.match(
      (await berth('job', 'show', id)).stdout,
      new RegExp(`image: +images/loss-curve\\.svg {2}\\(${svg.length} bytes\\)`),
    );
    const download = await berth('job', 'download', id, '--output', join(dir, 'downloaded'));
    assert.equal(download.code, 0, download.stderr);
    assert.equal(
      await readFile(join(dir, 'downloaded', 'tables', 'rows.jsonl'), 'utf8'),
      '{"a":1}\n{"a":2}\n',
    );
    assert.equal(await readFile(join(dir, 'downloaded', 'images', 'loss-curve.svg'), 'utf8'), svg);
  });

  it('cancel stops the container, held to the job limits, and leaves the job Canceled', async () => {
    await writeFile(
      join(dir, 'long.yml'),
      [
        "command: node -e \"require('fs').writeFileSync('outputs/started', 'x'); setInterval(() => {}, 1000)\"",
        `compute: ${targetName}`,
        'resources: {cpu: "500m", memory: 256Mi, shm_size: 64m}',
      ].join('\n'),
    );
    const created = await berth('job', 'create', '-f', join(dir, 'long.yml'));
    assert.equal(created.code, 0, created.stderr);
    const id = createdId(created.stdout);
    await until('the command to start', async () =>
      (await readFile(join(workspace, 'runs', id, 'code', 'outputs', 'started'), 'utf8').catch(() => '')) ===
      'x'
        ? true
        : undefined,
    );
    const [container] = await runContainers(id);
    assert.ok(container, 'the job runs in a container labelled with its id');
    const limits = (await testEngine().getContainer(container.Id).inspect()).HostConfig;
    assert.equal(limits.NanoCpus, 500_000_000);
    assert.equal(limits.Memory, 256 * 1024 * 1024);
    assert.equal(limits.ShmSize, 64 * 1024 * 1024);

    const canceled = await berth('job', 'cancel', id);
    assert.equal(canceled.code, 0, canceled.stderr);
    assert.equal(canceled.stdout, `job ${id} Canceled\n`);
    const shown = JSON.parse((await berth('job', 'show', id, '--json')).stdout) as JobView;
    assert.equal(shown.state, 'Canceled');
    assert.equal(shown.reason, 'canceled by request');
    assert.deepEqual(await runContainers(id), [], 'the container is gone');
  });

  it('a runner killed mid-run: the job is recorded Failed and its container removed', async () => {
    const created = await berth(
      'job',
      'create',
      '--command',
      "node -e \"require('fs').writeFileSync('outputs/started', 'x'); setInterval(() => {}, 1000)\"",
      '--target',
      targetName,
    );
    assert.equal(created.code, 0, created.stderr);
    const id = createdId(created.stdout);
    await until('the command to start', async () =>
      (await readFile(join(workspace, 'runs', id, 'code', 'outputs', 'started'), 'utf8').catch(() => '')) ===
      'x'
        ? true
        : undefined,
    );
    const runner = (await (await RunFolder.open(workspace, id)).status()).runnerPid;
    assert.ok(runner !== undefined && isAlive(runner));
    assert.equal((await runContainers(id)).length, 1);
    // The runner berth started for this job, and only it.
    process.kill(runner, 'SIGKILL');
    await until('the runner to go', async () => (isAlive(runner) ? undefined : true));
    const shown = JSON.parse((await berth('job', 'show', id, '--json')).stdout) as JobView;
    assert.equal(shown.state, 'Failed');
    assert.equal(shown.reason, `the runner (pid ${runner}) ended without recording an end`);
    assert.deepEqual(await runContainers(id), [], 'the container went with its runner');
  });

  it('records a timeout and a failing command as Failed with their reasons', async () => {
    const slow = await berth(
      'job',
      'create',
      '--command',
      'node -e "setInterval(() => {}, 1000)"',
      '--target',
      targetName,
      '--timeout',
      '2',
    );
    const failing = await berth(
      'job',
      'create',
      '--command',
      'echo broken >&2; exit 3',
      '--target',
      targetName,
    );
    assert.equal(slow.code, 0, slow.stderr);
    assert.equal(failing.code, 0, failing.stderr);
    const timedOut = await waitFor(createdId(slow.stdout));
    assert.equal(timedOut.state, 'Failed');
    assert.equal(timedOut.reason, 'ran past limits.timeout of 2s');
    const failed = await waitFor(createdId(failing.stdout));
    assert.equal(failed.state, 'Failed');
    assert.equal(failed.exitCode, 3);
    assert.match((await berth('job', 'logs', failed.id)).stdout, /broken/);
    assert.deepEqual(await runContainers(timedOut.id), []);
  });

  it('warns where a target does not hold a job to its resources', async () => {
    await writeFile(join(dir, 'local.yml'), ['command: "true"', 'resources: {memory: 1Gi}'].join('\n'));
    const local = await berth('job', 'create', '-f', join(dir, 'local.yml'));
    assert.equal(local.code, 0, local.stderr);
    assert.match(local.stderr, /warning: resources\.memory: not enforced on target "local" \(local\)/);
  });

  it('instance_count 2: one container per rank on a network of their own, rank 0 the master', async () => {
    const created = await berth(
      'job',
      'create',
      '--command',
      [
        'echo "$RANK $WORLD_SIZE $LOCAL_RANK $NODE_RANK $MASTER_ADDR $MASTER_PORT $AZ_BATCHAI_TASK_INDEX" > outputs/rank-$RANK.txt',
        // Each rank reaches the master by name: rank 0 listens, rank 1 connects.
        "node -e \"const net = require('net'); const port = Number(process.env.MASTER_PORT);" +
          " if (process.env.RANK === '0') { const s = net.createServer((c) => { c.end('hi'); s.close(); }).listen(port); }" +
          " else { const t = () => net.connect(port, process.env.MASTER_ADDR).on('data', (d) => console.log('rank 1 heard', String(d))).on('error', () => setTimeout(t, 200)); t(); }\"",
        'echo "rank $RANK done"',
      ].join('; '),
      '--target',
      targetName,
      '--instance-count',
      '2',
      '--timeout',
      '120',
    );
    assert.equal(created.code, 0, created.stderr);
    const id = createdId(created.stdout);
    const ended = await waitFor(id);
    assert.equal(ended.state, 'Completed', ended.reason);
    const outputs = join(workspace, 'runs', id, 'code', 'outputs');
    const seen = await Promise.all(
      [0, 1].map(async (rank) =>
        (await readFile(join(outputs, `rank-${rank}.txt`), 'utf8')).trim().split(' '),
      ),
    );
    const master = `berth-job-${id}`;
    assert.deepEqual(seen, [
      ['0', '2', '0', '0', master, '29500', '0'],
      ['1', '2', '0', '1', master, '29500', '1'],
    ]);
    assert.equal((await berth('job', 'logs', id)).stdout, 'rank 0 done\n');
    assert.equal((await berth('job', 'logs', id, '--rank', '1')).stdout, 'rank 1 heard hi\nrank 1 done\n');
    assert.deepEqual(await runContainers(id), []);
    const networks = await testEngine().listNetworks({
      filters: JSON.stringify({ label: [`berth.run=${id}`] }),
    });
    assert.deepEqual(networks, [], 'the ranks network is removed');
  });

  it('one rank failing stops the other container and fails the job', async () => {
    const created = await berth(
      'job',
      'create',
      '--command',
      'if [ "$RANK" = 1 ]; then exit 3; fi; node -e "setInterval(() => {}, 1000)"',
      '--target',
      targetName,
      '--instance-count',
      '2',
    );
    assert.equal(created.code, 0, created.stderr);
    const ended = await waitFor(createdId(created.stdout));
    assert.equal(ended.state, 'Failed');
    assert.equal(ended.reason, 'rank 1 exited with code 3; the other ranks were ended');
    assert.equal(ended.exitCode, 3);
    assert.deepEqual(await runContainers(ended.id), []);
  });
});
