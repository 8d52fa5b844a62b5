/**
 * Batch on a Kubernetes target, the pure parts: the settings (Redis, image, volume), the Job of
 * workers (Indexed or not, completions = parallelism = instance count, the Redis address only in
 * the Secret), names that stay valid for long job ids, and the workers' state from a Job and its
 * pods as a kubelet and the job controller write them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactSettings } from '../../src/sdk/named-targets.js';
import { batchJobManifests, batchJobName } from '../../src/targets/kubernetes/batch-job.js';
import { resolveKubernetesBatchSettings } from '../../src/targets/kubernetes/batch-settings.js';
import { batchWorkersState } from '../../src/targets/kubernetes/batch-state.js';
import { resolveKubernetesTargetConfig } from '../../src/targets/kubernetes/config.js';
import type { PodView } from '../../src/targets/kubernetes/state.js';

const settings = resolveKubernetesBatchSettings({
  registry: 'registry.example.com/ml/',
  batchRedis: 'redis://:secret@10.0.0.5:6379/2',
  batchVolume: '/mnt/data/=ml-data',
});

interface JobSpec {
  completionMode?: string;
  completions: number;
  parallelism: number;
  template: {
    metadata: { labels: Record<string, string> };
    spec: {
      restartPolicy: string;
      containers: { image: string; args: string[]; env: unknown[]; volumeMounts: unknown[] }[];
      volumes: unknown[];
      imagePullSecrets?: unknown[];
    };
  };
}

describe('kubernetes batch settings', () => {
  it('defaults the in-cluster Redis, the queue prefix and the worker image; parses PATH=CLAIM', () => {
    assert.ok(settings !== undefined);
    assert.equal(settings.redisInCluster, 'redis://:secret@10.0.0.5:6379/2');
    assert.equal(settings.queuePrefix, 'berth');
    // No batchImage: berth builds the worker image (worker-image.ts), unless told not to build.
    assert.deepEqual(settings.image, { kind: 'build' });
    const unbuilt = resolveKubernetesBatchSettings({
      registry: 'registry.example.com/ml/',
      buildImage: false,
      batchRedis: 'redis://10.0.0.5:6379',
    });
    assert.equal(unbuilt?.image.kind, 'given');
    assert.match(
      unbuilt?.image.kind === 'given' ? unbuilt.image.name : '',
      /^registry\.example\.com\/ml\/berth-worker:\d+\.\d+\.\d+/,
    );
    assert.deepEqual(
      resolveKubernetesBatchSettings({ batchRedis: 'redis://10.0.0.5:6379', batchImage: 'mine/worker:1' })
        ?.image,
      { kind: 'given', name: 'mine/worker:1' },
    );
    assert.deepEqual(settings.volume, { path: '/mnt/data', claim: 'ml-data' });
    assert.equal(resolveKubernetesBatchSettings({}), undefined);
  });

  it("keeps the batch Redis passwords out of a target's listing", () => {
    assert.deepEqual(
      redactSettings({
        batchRedis: 'redis://:pw@10.0.0.5:6379',
        batchRedisInCluster: 'redis://u:pw@redis:6379/1',
      }),
      { batchRedis: 'redis://:***@10.0.0.5:6379', batchRedisInCluster: 'redis://u:***@redis:6379/1' },
    );
  });

  it('refuses a bad Redis address or volume, naming the setting', () => {
    assert.throws(
      () => resolveKubernetesTargetConfig({ kind: 'kubernetes', batchRedis: 'http://x' }),
      /batchRedis: invalid cluster address "http:\/\/x": it must start with redis:\/\//,
    );
    assert.throws(
      () =>
        resolveKubernetesTargetConfig({ kind: 'kubernetes', batchRedis: 'redis://x', batchVolume: 'data' }),
      /batchVolume: expected PATH or PATH=CLAIM/,
    );
  });
});

describe('the Job of batch workers', () => {
  const input = {
    jobId: 'linear-batch-20261207124500-a1b2c3',
    target: 'prod',
    namespace: 'ml',
    settings: settings!,
    imagePullSecret: 'regcred',
    image: { name: 'registry.example.com/ml/berth-worker:0.1.0', command: ['berth'] },
    instanceCount: 3,
    concurrency: 2,
  };

  it('is an Indexed Job of instance_count workers at once, the Redis address only in its Secret', () => {
    const manifests = batchJobManifests({ ...input, indexed: true });
    const [secret, job] = manifests.objects;
    assert.equal(manifests.name, 'berth-batch-linear-batch-20261207124500-a1b2c3');
    assert.equal(secret?.kind, 'Secret');
    assert.equal(
      Buffer.from((secret?.data as { redis: string }).redis, 'base64').toString(),
      'redis://:secret@10.0.0.5:6379/2',
    );
    assert.equal(job?.kind, 'Job');
    assert.equal(job?.apiVersion, 'batch/v1');
    const spec = job?.spec as JobSpec;
    assert.equal(spec.completionMode, 'Indexed');
    assert.equal(spec.completions, 3);
    assert.equal(spec.parallelism, 3);
    assert.equal(spec.template.spec.restartPolicy, 'OnFailure');
    const container = spec.template.spec.containers[0];
    assert.equal(container?.image, 'registry.example.com/ml/berth-worker:0.1.0');
    assert.deepEqual((container as { command?: string[] } | undefined)?.command, ['berth']);
    assert.deepEqual(container?.args, [
      'worker',
      '--cluster',
      '$(BERTH_BATCH_REDIS)',
      '--queue-prefix',
      'berth',
      '--concurrency',
      '2',
      '--name',
      '$(BERTH_WORKER_NAME)',
      '--cache-dir',
      '/var/cache/berth-worker',
    ]);
    assert.doesNotMatch(JSON.stringify(job), /secret@/, 'the password is not in the Job');
    assert.deepEqual(spec.template.spec.volumes[1], {
      name: 'data',
      persistentVolumeClaim: { claimName: 'ml-data' },
    });
    assert.deepEqual(container?.volumeMounts[1], { name: 'data', mountPath: '/mnt/data' });
    assert.deepEqual(spec.template.spec.imagePullSecrets, [{ name: 'regcred' }]);
    for (const object of manifests.objects) {
      assert.deepEqual(object.metadata.labels, {
        'app.kubernetes.io/managed-by': 'berth',
        'berth.dev/target': 'prod',
        'berth.dev/batch-job': 'linear-batch-20261207124500-a1b2c3',
      });
    }
    assert.deepEqual(spec.template.metadata.labels, job?.metadata.labels);
    assert.equal(
      manifests.selector,
      'app.kubernetes.io/managed-by=berth,berth.dev/target=prod,berth.dev/batch-job=linear-batch-20261207124500-a1b2c3',
    );
  });

  it('leaves completionMode out where the server has no Indexed Jobs, and mounts the node path without a claim', () => {
    const job = batchJobManifests({
      ...input,
      settings: { ...settings!, volume: { path: '/srv/data', claim: undefined } },
      indexed: false,
    }).objects[1];
    const spec = job?.spec as JobSpec;
    assert.equal(spec.completionMode, undefined);
    assert.equal(spec.completions, 3);
    assert.deepEqual(spec.template.spec.volumes[1], {
      name: 'data',
      hostPath: { path: '/srv/data', type: 'Directory' },
    });
  });

  it('keeps names DNS-1123 labels short enough for the pods derived from them', () => {
    const long = batchJobName(`A_Very_Long_Deployment_Name_${'x'.repeat(40)}-20261207124500-a1b2c3`);
    assert.ok(long.length <= 52, long);
    assert.match(long, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    assert.notEqual(
      long,
      batchJobName(`A_Very_Long_Deployment_Name_${'x'.repeat(40)}-20261207124500-d4e5f6`),
    );
  });
});

describe('the workers state from the Job and its pods', () => {
  const job = { metadata: { name: 'berth-batch-x' }, status: { active: 2 } };
  const unschedulable: PodView = {
    metadata: { name: 'berth-batch-x-abcde' },
    status: {
      phase: 'Pending',
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: '0/3 nodes are available: 3 Insufficient memory.',
        },
      ],
    },
  };
  const pulling: PodView = {
    metadata: { name: 'berth-batch-x-fghij' },
    status: {
      phase: 'Pending',
      containerStatuses: [
        {
          state: {
            waiting: {
              reason: 'ImagePullBackOff',
              message: 'Back-off pulling image "berth/berth-worker:0.1.0"',
            },
          },
        },
      ],
    },
  };
  const running: PodView = {
    metadata: { name: 'berth-batch-x-klmno' },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };

  it('says Unschedulable with the scheduler message, a reason that may clear', () => {
    const state = batchWorkersState('Job ml/berth-batch-x', job, [unschedulable, unschedulable]);
    assert.equal(state.state, 'Pending');
    assert.equal(
      state.reason,
      '2 of 2 pod(s): Unschedulable: 0/3 nodes are available: 3 Insufficient memory.',
    );
    assert.equal(state.blocking, 'soft');
  });

  it('says ImagePullBackOff as a reason waiting will not clear', () => {
    const state = batchWorkersState('Job ml/berth-batch-x', job, [pulling]);
    assert.equal(state.blocking, 'hard');
    assert.match(state.reason ?? '', /^1 of 1 pod\(s\): ImagePullBackOff: Back-off pulling image/);
  });

  it('is Running once a worker runs, whatever the others say', () => {
    const state = batchWorkersState('Job ml/berth-batch-x', job, [running, unschedulable]);
    assert.equal(state.state, 'Running');
    assert.equal(state.blocking, undefined);
    assert.deepEqual(
      state.pods.map((pod) => pod.phase),
      ['Running', 'Pending'],
    );
  });

  it("takes the Job's Failed condition, and says when the Job is gone", () => {
    const failed = batchWorkersState(
      'Job ml/berth-batch-x',
      {
        ...job,
        status: {
          conditions: [
            {
              type: 'Failed',
              status: 'True',
              reason: 'BackoffLimitExceeded',
              message: 'Job has reached the specified backoff limit',
            },
          ],
        },
      },
      [],
    );
    assert.equal(failed.state, 'Failed');
    assert.equal(failed.reason, 'BackoffLimitExceeded: Job has reached the specified backoff limit');
    assert.equal(failed.blocking, 'hard');
    const absent = batchWorkersState('Job ml/berth-batch-x', undefined, []);
    assert.equal(absent.state, 'Absent');
    assert.equal(absent.blocking, undefined);
  });
});
