/**
 * Batch on a Kubernetes target against a real control plane with no node (level 2,
 * test/helpers/kube-cluster.ts) and the real Redis: `batch run --dry-run` writes the Job the server
 * validated; a running job's Job has the instance count as completions and parallelism, its pods
 * stay Pending and `batch status` says why in the scheduler's words; `batch cancel` deletes the
 * Job, its Secret and its pods; and workers that cannot run fail the job with the cluster's reason.
 * No worker pod runs here (no kubelet), so no mini-batch is scored on the cluster.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { Workspace } from '../../src/sdk/workspace.js';
import type { BatchJobStatus } from '../../src/sdk/batch.js';
import { Cluster } from '../../src/targets/kubernetes/client.js';
import { batchLeftovers } from '../../src/targets/kubernetes/batch-cluster.js';
import { batchJobName } from '../../src/targets/kubernetes/batch-job.js';
import { berthRbac } from '../../src/targets/kubernetes/rbac.js';
import { resolveKubernetesTargetConfig } from '../../src/targets/kubernetes/config.js';
import type { KubeObject } from '../../src/targets/kubernetes/objects.js';
import { buildLinearModel, writeModel } from '../fixtures/onnx-builder.js';
import { runBerth } from '../helpers/cli.js';
import { kubeOrSkip, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';
import { redisUrl, removePrefix, uniquePrefix } from '../batch/cluster-helpers.js';

const skip = kubeOrSkip();

const deploymentYaml = `name: linear-batch
type: model
model: azureml:linear:1
compute: kbatch
resources:
  instance_count: 2
settings:
  max_concurrency_per_instance: 3
  mini_batch_size: '60B'
  retry_settings:
    max_retries: 1
    timeout: 30
`;

async function until<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('batch jobs on a kubernetes target (level 2: no node)', { skip }, () => {
  let cluster: KubeCluster;
  let dir: string;
  let workspace: Workspace;
  let data: string;
  let deployment: string;
  const prefix = uniquePrefix();
  const targetSettings = () => ({
    kubeconfig: cluster.kubeconfig,
    namespace: 'default',
    batchRedis: redisUrl,
    batchRedisInCluster: 'redis://redis.default.svc:6379',
    batchQueuePrefix: prefix,
    batchImage: 'registry.example.com/ml/berth-worker:test',
    batchVolume: '', // set in before()
  });

  before(async () => {
    cluster = await startKubeCluster();
    dir = await mkdtemp(join(tmpdir(), 'berth-k8s-batch-'));
    workspace = await Workspace.init({ dir: join(dir, 'ws') });
    await workspace.models.register({
      name: 'linear',
      path: writeModel(dir, 'linear.onnx', buildLinearModel()),
    });
    data = join(dir, 'data');
    await mkdir(data);
    const rows = Array.from({ length: 30 }, (_, i) => `${i},${i + 1},${i + 2}`).join('\n');
    await writeFile(join(data, 'rows.csv'), `x1,x2,x3\n${rows}\n`);
    deployment = join(dir, 'deployment.yml');
    await writeFile(deployment, deploymentYaml);
    await workspace.targets.create({
      name: 'kbatch',
      kind: 'kubernetes',
      settings: { ...targetSettings(), batchVolume: dir },
    });
    // The failing job runs with the documented Role only (rbac.ts), in its own namespace.
    const admin = kube();
    await admin.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ml' } });
    for (const object of berthRbac('ml')) await admin.apply(object);
    const token = await until('the service account token', async () => {
      const account = await admin.read({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'berth', namespace: 'ml' },
      });
      const secretName = (account?.secrets as { name: string }[] | undefined)?.[0]?.name;
      if (secretName === undefined) return undefined;
      const secret = await admin.read({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: secretName, namespace: 'ml' },
      });
      const encoded = (secret?.data as { token?: string } | undefined)?.token;
      return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString();
    });
    await workspace.targets.create({
      name: 'kbatch-fast',
      kind: 'kubernetes',
      settings: {
        ...targetSettings(),
        kubeconfig: cluster.kubeconfigFor('berth', token, 'ml'),
        namespace: 'ml',
        batchVolume: dir,
        reasonGraceMs: 1500,
      },
    });
    await workspace.targets.create({
      name: 'knobatch',
      kind: 'kubernetes',
      settings: { kubeconfig: cluster.kubeconfig },
    });
  });
  after(async () => {
    await workspace?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    await removePrefix(prefix);
    await cluster?.stop();
  });

  const kube = () =>
    Cluster.open(
      resolveKubernetesTargetConfig({
        kind: 'kubernetes',
        kubeconfig: cluster.kubeconfig,
        namespace: 'default',
      }),
    );

  it('refuses a kubernetes target without batchRedis, naming the setting', async () => {
    await assert.rejects(
      workspace.batch.run({
        deploymentFile: deployment,
        input: data,
        output: join(dir, 'out0'),
        target: 'knobatch',
      }),
      (error: Error & { code?: string }) =>
        error.code === 'INVALID_SPEC' && /knobatch has no batchRedis/.test(error.message),
    );
  });

  it('writes the Job the server validated with batch run --dry-run --output, applying nothing', async () => {
    const out = join(dir, 'manifests');
    const result = await runBerth(['batch', 'run', '-f', deployment, '-i', data, '-o', out, '--dry-run'], {
      workspace: join(dir, 'ws'),
    });
    assert.equal(result.code, 0, result.stderr);
    const files = readdirSync(out).sort();
    assert.equal(files.length, 2, files.join(', '));
    assert.match(files[0] ?? '', /^01-secret-berth-batch-linear-batch-/);
    assert.match(files[1] ?? '', /^02-job-berth-batch-linear-batch-/);
    const job = parse(readFileSync(join(out, files[1] ?? ''), 'utf8')) as KubeObject & {
      spec: Record<string, unknown> & { template: { spec: Record<string, unknown> } };
    };
    assert.equal(job.apiVersion, 'batch/v1');
    assert.equal(job.spec.completions, 2);
    assert.equal(job.spec.parallelism, 2);
    // Kubernetes 1.20 has no Indexed Jobs: the server's dry run dropped the mode, and berth says so.
    assert.equal(job.spec.completionMode, undefined);
    assert.match(result.stderr, /no Indexed Jobs \(completionMode/);
    const container = (job.spec.template.spec.containers as { args: string[]; image: string }[])[0];
    assert.equal(container?.image, 'registry.example.com/ml/berth-worker:test');
    assert.deepEqual(container?.args.slice(0, 7), [
      'worker',
      '--cluster',
      '$(BERTH_BATCH_REDIS)',
      '--queue-prefix',
      prefix,
      '--concurrency',
      '3',
    ]);
    const secret = parse(readFileSync(join(out, files[0] ?? ''), 'utf8')) as { data: { redis: string } };
    assert.equal(Buffer.from(secret.data.redis, 'base64').toString(), 'redis://redis.default.svc:6379');
    const jobs = await kube().list('batch/v1', 'Job', 'app.kubernetes.io/managed-by=berth');
    assert.deepEqual(jobs, [], 'the dry run applied nothing');
  });

  it('runs the job as a Job of instance_count pods; status gives the Unschedulable reason; cancel deletes it all', async () => {
    let jobId: string | undefined;
    const running = workspace.batch.run({
      deploymentFile: deployment,
      input: data,
      output: join(dir, 'out1'),
      onCreated: (id) => (jobId = id),
    });
    running.catch(() => undefined);
    const id = await until('the job id', async () => jobId);
    const name = batchJobName(id);
    const job = await until(
      'the Job',
      async () => await kube().read({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name } }),
    );
    const spec = job.spec as { completions: number; parallelism: number };
    assert.equal(spec.completions, 2);
    assert.equal(spec.parallelism, 2);
    const status = await until('the pods Unschedulable in status', async () => {
      const read = await workspace.batch.status(id);
      // The coordinator's first status write may come after the pods' reason.
      return read.state === 'running' && read.targetWorkers?.reason?.includes('Unschedulable') === true
        ? read
        : undefined;
    });
    assert.equal(status.state, 'running');
    assert.equal(status.engine, 'kubernetes');
    assert.equal(status.targetWorkers?.state, 'Pending');
    assert.equal(status.targetWorkers?.object, `Job default/${name}`);
    assert.match(
      status.targetWorkers?.reason ?? '',
      /^2 of 2 pod\(s\): Unschedulable: no nodes available to schedule pods$/,
    );
    assert.equal(status.targetWorkers?.pods.length, 2);

    const shown = await runBerth(['batch', 'status', id], { workspace: join(dir, 'ws') });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(
      shown.stdout,
      new RegExp(`kubernetes: +Job default/${name}: Pending — 2 of 2 pod\\(s\\): Unschedulable`),
    );

    const canceled = await workspace.batch.cancel(id);
    assert.equal(canceled.state, 'canceled');
    assert.equal(canceled.targetWorkers?.state, 'Absent');
    assert.deepEqual(await batchLeftovers(kube(), 'kbatch', id), []);
    const final: BatchJobStatus = await running;
    assert.equal(final.state, 'canceled');
  });

  it('fails the job with the cluster reason when the workers cannot run, leaving nothing behind (with the documented Role only)', async () => {
    const status = await workspace.batch.run({
      deploymentFile: deployment,
      input: data,
      output: join(dir, 'out2'),
      target: 'kbatch-fast',
    });
    assert.equal(status.state, 'failed');
    assert.match(
      status.reason ?? '',
      /the workers could not start \d+ times: the worker pods cannot run \(for 2 s\): 2 of 2 pod\(s\): Unschedulable/,
    );
    const inMl = Cluster.open(
      resolveKubernetesTargetConfig({ kind: 'kubernetes', kubeconfig: cluster.kubeconfig, namespace: 'ml' }),
    );
    await until('the Job and its pods gone', async () =>
      (await batchLeftovers(inMl, 'kbatch-fast', status.id)).length === 0 ? true : undefined,
    );
    const logs = await workspace.batch.logs(status.id, { worker: 'kubernetes' });
    assert.ok(
      logs.some((line) => /Job ml\/berth-batch-.* created/.test(line.line)),
      logs.map((line) => line.line).join('\n'),
    );
  });
});
