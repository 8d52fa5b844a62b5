/**
 * Batch on a Kubernetes target with a node where the worker pods really run (level 3:
 * test/helpers/kube-cluster.ts with `node: true`). `berth batch run --target <kubernetes target>`
 * builds the worker image (berth worker bundled on the test's base image), pushes it to the
 * node's loopback registry and applies the Job; its two pods pull it, join the queue on a Redis of
 * the test's own (bound to the node bridge's address, which both this machine and the pods reach),
 * read the inputs through the hostPath volume, and score. The predictions equal the embedded
 * engine's on the same input; a worker pod deleted mid-run (forced, through the API) leaves every
 * row scored exactly once; and the Job, its Secret and its pods are gone at the end.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { freeLoopbackPort } from '../../src/core/free-port.js';
import { Workspace } from '../../src/sdk/workspace.js';
import { batchLeftovers } from '../../src/targets/kubernetes/batch-cluster.js';
import { Cluster } from '../../src/targets/kubernetes/client.js';
import { resolveKubernetesTargetConfig } from '../../src/targets/kubernetes/config.js';
import { dockerOrSkip, ensureTestBaseImage } from '../fixtures/docker-base-image.js';
import { buildLinearModel, writeModel } from '../fixtures/onnx-builder.js';
import { runBerth, type CliResult } from '../helpers/cli.js';
import { kubeOrSkip, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';
import { kubeNodeMissing } from '../helpers/kube-node.js';

function nodeOrSkip(): string | undefined {
  const missing = kubeNodeMissing();
  if (missing === undefined) return undefined;
  const why = `no Kubernetes node can run here: ${missing}`;
  if (process.env.CI === 'true') throw new Error(`${why}: CI must provide one`);
  console.log(`# ${why}: level-3 batch tests skipped`);
  return why;
}

const skip = kubeOrSkip() ?? nodeOrSkip() ?? (await dockerOrSkip());

const redisServer = '/usr/bin/redis-server';

/**
 * A Redis of the test's own on `host` (the bridge's address: the machine's listens on loopback
 * only), with a password, which the pods get through the job's Secret.
 */
async function startRedis(host: string, dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freeLoopbackPort();
  const password = randomBytes(12).toString('hex');
  const child: ChildProcess = spawn(
    redisServer,
    [
      ...['--port', String(port), '--bind', host, '--requirepass', password],
      ...['--save', '', '--appendonly', 'no', '--dir', dir],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (output += text));
  const exited = once(child, 'exit');
  const answers = () =>
    new Promise<boolean>((resolve) => {
      let text = '';
      const socket = createConnection({ host, port }, () => socket.write(`AUTH ${password}\r\nPING\r\n`));
      socket.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
        if (!text.includes('\r\n', text.indexOf('\r\n') + 2)) return;
        socket.destroy();
        resolve(text === '+OK\r\n+PONG\r\n');
      });
      socket.once('error', () => resolve(false));
    });
  const deadline = Date.now() + 15_000;
  while (!(await answers())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on ${host}:${port} did not start: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: `redis://:${password}@${host}:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function until<T>(what: string, read: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

interface RunStatus {
  id: string;
  state: string;
  engine: string;
  reason?: string;
  items: { total: number; succeeded: number; failed: number };
  miniBatches: { total: number; succeeded: number; retried: number };
  workers: Record<string, unknown>;
  output: { predictions: string };
}

/** The tabular job: the linear model over a CSV, no script (`--target` says where it runs). */
const tabularYaml = `name: linear-rows
type: model
model: azureml:linear:1
compute: local
resources:
  instance_count: 2
settings:
  max_concurrency_per_instance: 2
  mini_batch_size: '120B'
  output_action: append_row
  retry_settings:
    max_retries: 2
    timeout: 60
`;

/** The file job: a script that scores one row per file with the model, slowly, so a pod dies mid-run. */
const slowYaml = `name: linear-files
type: model
model: azureml:linear:1
code_configuration:
  code: ./code
  scoring_script: score.mjs
compute: local
resources:
  instance_count: 2
settings:
  max_concurrency_per_instance: 1
  mini_batch_size: 2
  output_action: append_row
  retry_settings:
    max_retries: 3
    timeout: 120
`;

const slowScript = `import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

let session;
export async function init(ctx) {
  session = await ctx.session();
}
export async function run(paths) {
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const rows = paths.map((path) => readFileSync(path, 'utf8').trim().split(',').map(Number));
  const output = await session.run({ x: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 3]) });
  const y = Array.from(output.y.data);
  return Object.fromEntries(paths.map((path, i) => [path, { y: y[i] }]));
}
`;

describe('batch jobs on a kubernetes target with a node: the worker pods score (level 3)', { skip }, () => {
  let cluster: KubeCluster;
  let redis: { url: string; stop(): Promise<void> };
  let dir: string;
  let ws: string;

  const kube = () =>
    Cluster.open(
      resolveKubernetesTargetConfig({
        kind: 'kubernetes',
        kubeconfig: cluster.kubeconfig,
        namespace: 'default',
      }),
    );

  const berth = (...args: string[]): Promise<CliResult> => runBerth(args, { workspace: ws });

  const run = async (name: string, yaml: string, input: string, target: string): Promise<RunStatus> => {
    const file = join(dir, `${name}.yml`);
    await writeFile(file, yaml);
    const result = await berth(
      'batch',
      'run',
      '-f',
      file,
      '-i',
      input,
      '-o',
      join(dir, `out-${name}`),
      '--target',
      target,
      '--json',
    );
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const status = JSON.parse(result.stdout) as RunStatus;
    assert.equal(status.state, 'completed', result.stdout);
    return status;
  };

  /** The Job, Secret and pods of the job are gone (the pods go after their Job, in the background). */
  const gone = async (jobId: string) =>
    until(
      `the objects of ${jobId} gone`,
      async () => ((await batchLeftovers(kube(), 'knode', jobId)).length === 0 ? true : undefined),
      90_000,
    );

  before(async () => {
    cluster = await startKubeCluster({ node: true });
    const node = cluster.node!;
    dir = await mkdtemp(join(tmpdir(), 'berth-k8s-batch-node-'));
    redis = await startRedis(node.subnet.replace(/0\/24$/, '1'), dir);
    ws = join(dir, 'ws');
    const init = await berth('init');
    assert.equal(init.code, 0, init.stderr);
    const registered = await berth(
      'model',
      'register',
      '--name',
      'linear',
      '--path',
      writeModel(dir, 'linear.onnx', buildLinearModel()),
    );
    assert.equal(registered.code, 0, registered.stderr);
    const workspace = await Workspace.open({ dir: ws });
    try {
      await workspace.targets.create({
        name: 'knode',
        kind: 'kubernetes',
        settings: {
          kubeconfig: cluster.kubeconfig,
          namespace: 'default',
          registry: `${node.registry}/berth`,
          baseImage: await ensureTestBaseImage(),
          cacheDir: join(dir, 'k8s-cache'),
          batchRedis: redis.url,
          // The pods read the inputs where berth batch run planned them: this folder, from the node.
          batchVolume: dir,
        },
      });
    } finally {
      await workspace.close();
    }
  });
  after(async () => {
    await cluster?.stop();
    await redis?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('builds and pushes the worker image; two worker pods score a CSV as the embedded engine does; nothing left', async () => {
    const node = cluster.node!;
    const points = join(dir, 'points.csv');
    const rows = Array.from({ length: 60 }, (_, i) => `${i},${i / 4},${-i}`);
    await writeFile(points, `x1,x2,x3\n${rows.join('\n')}\n`);

    const here = await run('rows-here', tabularYaml, points, 'local');
    assert.equal(here.engine, 'embedded');
    const there = await run('rows-kube', tabularYaml, points, 'knode');
    assert.equal(there.engine, 'kubernetes');
    assert.deepEqual(there.items, { total: 60, succeeded: 60, failed: 0 });
    const predictions = await readFile(there.output.predictions, 'utf8');
    assert.equal(predictions.trimEnd().split('\n').length, 61);
    assert.equal(predictions, await readFile(here.output.predictions, 'utf8'));
    // Scored by the Job's pods (a worker is named after its pod), not by anything on this machine.
    const workers = Object.keys(there.workers);
    assert.ok(workers.length > 0);
    for (const worker of workers) assert.match(worker, /^berth-batch-linear-rows-/);

    // The image berth built is in the registry and on the node, pulled with the pods.
    const catalog = (await (await fetch(`http://${node.registry}/v2/_catalog`)).json()) as {
      repositories: string[];
    };
    assert.deepEqual(catalog.repositories, ['berth/berth-worker']);
    assert.ok(
      (await node.images()).some((image) => image.startsWith(`${node.registry}/berth/berth-worker:`)),
    );
    const logs = await berth('batch', 'logs', there.id, '--worker', 'kubernetes');
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /pushed 127\.0\.0\.1:\d+\/berth\/berth-worker:[0-9a-f]{32}/);
    assert.match(logs.stdout, /Job default\/berth-batch-linear-rows-.* created/);
    await gone(there.id);
  });

  it('completes with every row once when a worker pod is deleted mid-run', async () => {
    const files = join(dir, 'files');
    await mkdir(files);
    for (let i = 0; i < 20; i += 1) {
      await writeFile(join(files, `row-${String(i).padStart(2, '0')}.txt`), `${i},${i / 2},${1 - i}\n`);
    }
    await mkdir(join(dir, 'code'));
    await writeFile(join(dir, 'code', 'score.mjs'), slowScript);

    // The pod deleted is one that has taken a mini-batch; forced (grace 0), as a node loss would.
    let ended = false;
    const victim = (async () => {
      const pods = kube();
      const workspace = await Workspace.open({ dir: ws });
      const withWork = await until(
        'a worker pod with a mini-batch in hand',
        async () => {
          if (ended) throw new Error('the job ended before a worker pod took a mini-batch');
          const running = await pods.list('v1', 'Pod', 'berth.dev/target=knode');
          for (const pod of running) {
            const id = (pod.metadata.labels as Record<string, string>)['berth.dev/batch-job'] ?? '';
            if (!id.startsWith('linear-files-')) continue;
            const status = await workspace.batch.status(id).catch(() => undefined);
            if (status?.workers[pod.metadata.name] !== undefined) return { id, pod: pod.metadata.name };
          }
          return undefined;
        },
        240_000,
      ).finally(() => workspace.close());
      const config = new KubeConfig();
      config.loadFromFile(cluster.kubeconfig);
      await config
        .makeApiClient(CoreV1Api)
        .deleteNamespacedPod({ name: withWork.pod, namespace: 'default', gracePeriodSeconds: 0 });
      return withWork;
    })();
    victim.catch(() => undefined);

    const there = await run('files-kube', slowYaml, files, 'knode').finally(() => (ended = true));
    const deleted = await victim;
    assert.equal(there.id, deleted.id);
    assert.deepEqual(there.items, { total: 20, succeeded: 20, failed: 0 });
    const workers = Object.keys(there.workers);
    assert.ok(workers.includes(deleted.pod), `${deleted.pod} took work: ${workers.join(', ')}`);
    assert.ok(workers.length >= 2, workers.join(', '));

    const here = await run('files-here', slowYaml, files, 'local');
    const predictions = await readFile(there.output.predictions, 'utf8');
    // Every file once, scored as y = x·[0.5, -1, 2] + 0.25 (row i: 2.25 - 2i).
    const [header, ...lines] = predictions.trimEnd().split('\n');
    assert.equal(header, 'key,y');
    assert.deepEqual(
      lines,
      Array.from({ length: 20 }, (_, i) => `row-${String(i).padStart(2, '0')}.txt,${2.25 - 2 * i}`),
    );
    assert.equal(predictions, await readFile(here.output.predictions, 'utf8'));
    await gone(there.id);
  });
});
