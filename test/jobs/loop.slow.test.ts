/**
 * The loop the jobs exist for, on every target that runs jobs: the two example trainers, one in
 * TypeScript (examples/jobs/linear-node: `node train.ts`, an interface and typed functions,
 * gradient descent, ONNX out, metrics and a table through `berth-run`) and one in Python (examples/jobs/linear: Debian's scikit-learn, a pickle out, metrics
 * through `berth_run`), each run on local, on a container target (the Python one on the target's
 * Python layer, built from this machine's Debian packages, on a base image with no Python), on the
 * Redis cluster engine (a real `berth worker`) and on an ssh target (the test's own sshd). The
 * models are then registered from their jobs and served with `berth serve`: the four ONNX models in
 * one server, and the pickles from the container and the ssh runs through the example's score.py
 * (two of four, to keep the suite near two minutes: a Python server takes seconds to start). Every
 * served answer equals the in-process prediction of the file the job wrote: ONNX Runtime here for
 * ONNX, Debian's Python for the pickle.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { JobView } from '../../src/sdk/jobs.js';
import { Workspace } from '../../src/sdk/workspace.js';
import {
  redisUrl,
  removePrefix,
  startWorkerProcess,
  uniquePrefix,
  type WorkerProcess,
} from '../batch/cluster-helpers.js';
import { startServe } from '../cli/serve-process.js';
import { dockerOrSkip, testEngine } from '../fixtures/docker-base-image.js';
import { repoRoot, runBerth, type CliResult } from '../helpers/cli.js';
import { sshdMissing, sshTargetArgs, startSshd, type TestSshd } from '../helpers/sshd.js';
import { ensureJobTestBaseImage } from './job-base-image.js';

const python = '/usr/bin/python3';
const sklearnMissing =
  spawnSync(python, ['-c', 'import sklearn, numpy'], { stdio: 'ignore' }).status === 0
    ? undefined
    : `${python} has no scikit-learn`;
const skip = sklearnMissing ?? sshdMissing() ?? (await dockerOrSkip());

const targets = ['local', 'docker', 'workers', 'lab'] as const;
type TargetName = (typeof targets)[number];
const trainers = {
  node: { job: 'examples/jobs/linear-node/job.yml', model: 'outputs/model/model.onnx' },
  python: { job: 'examples/jobs/linear/job.yml', model: 'outputs/model/model.pkl' },
} as const;
type Trainer = keyof typeof trainers;
const rows = [
  [1, 2, 3],
  [0.5, -1, 0.25],
  [2.434, 1.118, 1.599],
];

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return result;
}

describe('train on local, container, cluster and ssh; register from the job; serve; score', { skip }, () => {
  let dir = '';
  let workspace = '';
  let sshd: TestSshd | undefined;
  let worker: WorkerProcess | undefined;
  const prefix = uniquePrefix();
  const containerTarget = `loop-docker-${process.pid}`;
  const jobs = new Map<string, JobView>();
  const berth = (...args: string[]) => runBerth(args, { workspace, cwd: dir });
  const compute = (target: TargetName): string => (target === 'docker' ? containerTarget : target);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-job-loop-'));
    workspace = join(dir, 'ws');
    ok(await berth('init'));
    const image = await ensureJobTestBaseImage();
    ok(await berth('target', 'create', containerTarget, '--type', 'container', '--base-image', image));
    ok(
      await berth(
        'target',
        'create',
        'workers',
        '--type',
        'cluster',
        '--redis',
        redisUrl,
        '--queue-prefix',
        prefix,
      ),
    );
    worker = await startWorkerProcess({
      prefix,
      name: 'w1',
      cacheDir: join(dir, 'cache-w1'),
      target: { name: 'workers', workspace },
    });
    sshd = await startSshd();
    ok(await berth(...sshTargetArgs(sshd, 'lab', join(sshd.dir, 'remote'))));
  });

  after(async () => {
    await worker?.stop();
    await removePrefix(prefix);
    await sshd?.stop();
    const engine = testEngine();
    const left = await engine.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`berth.target=${containerTarget}`] }),
    });
    await Promise.all(left.map((container) => engine.getContainer(container.Id).remove({ force: true })));
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('trains both examples on each of the four targets, with their metrics', async () => {
    const submitted = await Promise.all(
      targets.flatMap((target) =>
        (Object.keys(trainers) as Trainer[]).map(async (trainer): Promise<[string, string]> => {
          const created = ok(
            await berth(
              'job',
              'create',
              '-f',
              join(repoRoot, trainers[trainer].job),
              '--target',
              compute(target),
            ),
          );
          const id = /^job (\S+) /.exec(created.stdout)?.[1];
          assert.ok(id, created.stdout);
          if (trainer === 'python' && target !== 'docker')
            assert.match(
              created.stderr,
              /warning: environment\.conda_file \/ requirements\.txt: not installed on target/,
            );
          return [`${trainer}@${target}`, id];
        }),
      ),
    );
    const opened = await Workspace.open({ dir: workspace });
    try {
      for (const [key, id] of submitted) {
        const job = await opened.jobs.wait(id, AbortSignal.timeout(600_000));
        const logs = ok(await berth('job', 'logs', id)).stdout;
        assert.equal(job.state, 'Completed', `${key}: ${job.reason}\n${logs}`);
        jobs.set(key, job);
      }
    } finally {
      await opened.close();
    }
    for (const target of targets) {
      const node = jobs.get(`node@${target}`)!;
      // The TypeScript ran as written, from the JavaScript compiled into its snapshot.
      assert.match(node.command, /^node train\.ts --data /, `node@${target}`);
      await access(join(workspace, 'runs', node.id, 'code', '.berth-js', 'train.js'));
      await access(join(workspace, 'runs', node.id, 'code', '.berth-js', 'onnx-linear.js'));
      assert.ok((node.metrics.mse ?? 1) < 0.01, `node@${target}: mse ${node.metrics.mse}`);
      assert.deepEqual(
        node.tables.map((table) => [table.name, table.rows]),
        [['weights', 4]],
        `node@${target}: the table comes back`,
      );
      const py = jobs.get(`python@${target}`)!;
      assert.deepEqual(Object.keys(py.metrics), ['mse', 'r2'], `python@${target}`);
      assert.ok((py.metrics.r2 ?? 0) > 0.99, `python@${target}: r2 ${py.metrics.r2}`);
    }
    assert.match(jobs.get('python@docker')!.attempts[0]?.where ?? '', /^container berth-job-/);
    assert.match(jobs.get('python@workers')!.attempts[0]?.where ?? '', /^w1@/);
    assert.match(jobs.get('python@lab')!.attempts[0]?.where ?? '', /^ssh /);
    // The container's Python came from the layer: the job image sits on a python layer with scikit-learn.
    const pythonLayers = await testEngine().listImages({
      filters: JSON.stringify({ label: ['berth.layer=python'] }),
    });
    assert.ok(
      pythonLayers.some((image) => (image.Labels['berth.python-packages'] ?? '').includes('python3-sklearn')),
      'a python layer with python3-sklearn',
    );
  });

  it('registers the models from their jobs and serves them; the answers equal the in-process prediction', async () => {
    assert.equal(jobs.size, targets.length * 2, 'the training test ran');
    const register = async (trainer: Trainer, target: TargetName): Promise<string> => {
      const name = `loop-${trainer}-${target}`;
      const registered = ok(
        await berth(
          'model',
          'register',
          '--name',
          name,
          '--from-job',
          jobs.get(`${trainer}@${target}`)!.id,
          '--path',
          trainers[trainer].model,
          ...(trainer === 'python' ? ['--framework', 'sklearn'] : []),
        ),
      );
      const framework = trainer === 'python' ? 'sklearn' : 'onnx';
      assert.match(registered.stdout, new RegExp(`^registered ${name}:1 \\(${framework}`));
      return name;
    };
    const jobFile = (trainer: Trainer, target: TargetName): string =>
      join(workspace, 'runs', jobs.get(`${trainer}@${target}`)!.id, 'code', trainers[trainer].model);

    // The four ONNX models in one server, each through its own v2 route.
    const onnxModels = await Promise.all(targets.map((target) => register('node', target)));
    const onnxServer = await startServe([...onnxModels.map((name) => `${name}:1`), '--port', '0'], {
      workspace,
    });
    try {
      for (const [index, target] of targets.entries()) {
        const response = await fetch(`${onnxServer.url}/v2/models/${onnxModels[index]}/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            inputs: [{ name: 'x', shape: [rows.length, 3], datatype: 'FP32', data: rows.flat() }],
          }),
        });
        const body = await response.text();
        assert.equal(response.status, 200, `node@${target}: ${body}`);
        const served = (JSON.parse(body) as { outputs: { data: number[] }[] }).outputs[0]!.data;
        // float32 answers: the server may print them in their shortest float32 form.
        assert.deepEqual(
          served.map(Math.fround),
          await onnxPrediction(jobFile('node', target)),
          `node@${target}`,
        );
        assert.ok(Math.abs(served[0]! - 4.75) < 0.1, `node@${target}: scored ${served[0]}`);
      }
    } finally {
      assert.equal(await onnxServer.stop(), 0, onnxServer.stderr());
    }

    // The pickles through the example's score.py: from the container and the ssh machine (local and
    // the cluster worker ran the same interpreter as the container's Debian packages, on this machine).
    for (const target of ['docker', 'lab'] as const) {
      const name = await register('python', target);
      const server = await startServe(
        [
          `${name}:1`,
          '--port',
          '0',
          '--code',
          join(repoRoot, 'examples/jobs/linear/score'),
          '--scoring-script',
          'score.py',
        ],
        { workspace },
      );
      try {
        const response = await fetch(`${server.url}/score`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ data: rows }),
        });
        const body = await response.text();
        assert.equal(response.status, 200, `python@${target}: ${body}`);
        const served = JSON.parse(body) as number[];
        assert.deepEqual(served, pythonPrediction(jobFile('python', target)), `python@${target}`);
        // The data's line: y = 0.5·x0 − x1 + 2·x2 + 0.25, within the noise.
        assert.ok(Math.abs(served[0]! - 4.75) < 0.1, `python@${target}: scored ${served[0]}`);
      } finally {
        assert.equal(await server.stop(), 0, server.stderr());
      }
    }
  });
});

async function onnxPrediction(file: string): Promise<number[]> {
  const session = await ort.InferenceSession.create(await readFile(file));
  const result = await session.run({
    x: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 3]),
  });
  return Array.from(result.y?.data as Float32Array);
}

function pythonPrediction(file: string): number[] {
  const script = [
    'import json, pickle, sys',
    'model = pickle.load(open(sys.argv[1], "rb"))',
    'print(json.dumps(model.predict(json.loads(sys.argv[2])).tolist()))',
  ].join('\n');
  const result = spawnSync(python, ['-c', script, file, JSON.stringify(rows)], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as number[];
}
