/**
 * The Kubernetes target's pure parts: the manifests made from a resolved deployment, the API
 * versions chosen from discovery, object names and labels, and the state read from a Deployment
 * and its pods (the cluster's reasons, never a generic one).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { chooseApis } from '../../src/targets/kubernetes/discovery.js';
import { deploymentManifests, type ManifestInput } from '../../src/targets/kubernetes/manifests.js';
import { labelValue, objectName } from '../../src/targets/kubernetes/names.js';
import type { KubeObject } from '../../src/targets/kubernetes/objects.js';
import { deploymentStatus, type PodView } from '../../src/targets/kubernetes/state.js';
import type { ResolvedDeployment } from '../../src/targets/target.js';
import { linearDeployment } from '../targets/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-k8s-manifests-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function input(spec: ResolvedDeployment, overrides: Partial<ManifestInput> = {}): ManifestInput {
  return {
    spec,
    namespace: 'ml',
    image: 'registry.example.com/ml/berth-app:abc',
    imagePullSecret: undefined,
    token: 'secret-token',
    apis: { hpa: 'autoscaling/v2beta2', pdb: 'policy/v1beta1' },
    ...overrides,
  };
}

// Manifests are open-ended documents: the tests read them as plain JSON.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

function find(objects: KubeObject[], kind: string): KubeObject & { spec?: Loose } {
  const found = objects.find((object) => object.kind === kind);
  assert.ok(found, `no ${kind}`);
  return found;
}

describe('kubernetes manifests', () => {
  const base = linearDeployment(dir, { target: 'prod', endpointName: 'shop', deploymentName: 'blue' });

  it('makes a Deployment, Service, Secret, ConfigMap and PDB, all labelled for berth', () => {
    const spec: ResolvedDeployment = {
      ...base,
      instanceCount: 3,
      environmentVariables: { MODE: 'fast' },
      resources: { cpu: 1.5, memoryBytes: 2 * 1024 ** 3, gpu: 1 },
    };
    const { objects, name, labels } = deploymentManifests(input(spec, { imagePullSecret: 'regcred' }));
    assert.equal(name, 'shop-blue');
    assert.deepEqual(objects.map((object) => object.kind).sort(), [
      'ConfigMap',
      'Deployment',
      'PodDisruptionBudget',
      'Secret',
      'Service',
    ]);
    for (const object of objects) {
      assert.equal(object.metadata.namespace, 'ml');
      assert.deepEqual(object.metadata.labels, labels);
    }
    assert.equal(labels['app.kubernetes.io/managed-by'], 'berth');
    assert.equal(labels['berth.dev/target'], 'prod');
    const deployment = find(objects, 'Deployment');
    assert.equal(deployment.spec.replicas, 3);
    assert.deepEqual(deployment.spec.strategy.rollingUpdate, { maxSurge: 1, maxUnavailable: 0 });
    const pod = deployment.spec.template.spec;
    assert.deepEqual(pod.imagePullSecrets, [{ name: 'regcred' }]);
    assert.equal(pod.topologySpreadConstraints[0].topologyKey, 'kubernetes.io/hostname');
    const container = pod.containers[0];
    assert.equal(container.image, 'registry.example.com/ml/berth-app:abc');
    assert.deepEqual(container.resources.requests, { cpu: '1500m', memory: String(2 * 1024 ** 3) });
    assert.equal(container.resources.limits['nvidia.com/gpu'], 1);
    assert.equal(container.readinessProbe.httpGet.path, '/v2/health/ready');
    assert.equal(container.livenessProbe.successThreshold, 1);
    assert.equal(container.readinessProbe.periodSeconds, Math.ceil(spec.readinessProbe.periodMs / 1000));
    assert.equal(container.env[0].valueFrom.secretKeyRef.name, 'shop-blue');
    // A pod serves on for the stop delay after SIGTERM (not ready), then drains: the grace covers both.
    assert.deepEqual(container.env[1], { name: 'BERTH_STOP_DELAY_MS', value: '3000' });
    assert.equal(
      pod.terminationGracePeriodSeconds,
      Math.ceil((3000 + spec.requestSettings.requestTimeoutMs + 500 + 3000) / 1000),
    );
    assert.deepEqual(find(objects, 'ConfigMap').data, { MODE: 'fast' });
    assert.equal(
      Buffer.from(
        (find(objects, 'Secret').data as Record<string, string>)['replica-token']!,
        'base64',
      ).toString(),
      'secret-token',
    );
    assert.equal(find(objects, 'PodDisruptionBudget').apiVersion, 'policy/v1beta1');
  });

  it('is the same for the same input, and rolls the pods when only the environment changes', () => {
    const one = deploymentManifests(input(base));
    assert.deepEqual(deploymentManifests(input(base)), one);
    const changed = deploymentManifests(input({ ...base, environmentVariables: { A: '2' } }));
    const annotations = (objects: KubeObject[]) =>
      find(objects, 'Deployment').spec.template.metadata.annotations;
    assert.notEqual(
      annotations(changed.objects)['berth.dev/config-sha256'],
      annotations(one.objects)['berth.dev/config-sha256'],
    );
  });

  it('adds an autoscaler from scale_settings, in the version discovery chose, and leaves replicas to it', () => {
    const spec = {
      ...base,
      resources: { cpu: 1, memoryBytes: undefined, gpu: 0 },
      scaleSettings: {
        type: 'target_utilization',
        minInstances: 2,
        maxInstances: 5,
        targetUtilizationPercentage: 60,
        pollingIntervalMs: 5000,
        scaleUpDelayMs: 10_000,
        scaleDownDelayMs: 120_000,
      },
    } as ResolvedDeployment;
    for (const version of ['autoscaling/v2', 'autoscaling/v2beta2'] as const) {
      const { objects, warnings } = deploymentManifests(
        input(spec, { apis: { hpa: version, pdb: 'policy/v1' } }),
      );
      const hpa = find(objects, 'HorizontalPodAutoscaler');
      assert.equal(hpa.apiVersion, version);
      assert.equal(hpa.spec.minReplicas, 2);
      assert.equal(hpa.spec.maxReplicas, 5);
      assert.equal(hpa.spec.metrics[0].resource.target.averageUtilization, 60);
      assert.equal(hpa.spec.behavior.scaleUp.stabilizationWindowSeconds, 10);
      assert.equal(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds, 120);
      assert.equal(hpa.spec.behavior.scaleDown.policies[0].periodSeconds, 5);
      assert.equal('replicas' in find(objects, 'Deployment').spec, false);
      assert.deepEqual(warnings, []);
    }
    const v1 = deploymentManifests(input(spec, { apis: { hpa: 'autoscaling/v1', pdb: 'policy/v1' } }));
    assert.equal(find(v1.objects, 'HorizontalPodAutoscaler').spec.targetCPUUtilizationPercentage, 60);
    assert.match(v1.warnings.join('\n'), /autoscaling\/v1/);
    const noCpu = deploymentManifests(input({ ...spec, resources: { ...spec.resources, cpu: undefined } }));
    assert.match(noCpu.warnings.join('\n'), /resources\.requests\.cpu/);
  });
});

describe('kubernetes discovery and names', () => {
  it('chooses autoscaling/v2 where served, v2beta2 otherwise', () => {
    assert.deepEqual(chooseApis(['autoscaling/v1', 'autoscaling/v2', 'autoscaling/v2beta2', 'policy/v1']), {
      hpa: 'autoscaling/v2',
      pdb: 'policy/v1',
    });
    assert.deepEqual(
      chooseApis(['autoscaling/v1', 'autoscaling/v2beta1', 'autoscaling/v2beta2', 'policy/v1beta1']),
      {
        hpa: 'autoscaling/v2beta2',
        pdb: 'policy/v1beta1',
      },
    );
    assert.throws(() => chooseApis(['policy/v1']), /autoscaling/);
  });

  it('makes DNS-1123 names and label values, never two deployments one name', () => {
    assert.equal(objectName({ endpoint: 'shop', deployment: 'blue' }), 'shop-blue');
    const upper = objectName({ endpoint: 'Shop', deployment: 'blue' });
    assert.match(upper, /^shop-blue-[0-9a-f]{8}$/);
    assert.notEqual(upper, objectName({ endpoint: 'shop', deployment: 'Blue' }));
    assert.ok(objectName({ endpoint: 'a'.repeat(63), deployment: 'b'.repeat(63) }).length <= 63);
    assert.equal(labelValue('blue'), 'blue');
    assert.match(labelValue('blue_'), /^blue-[0-9a-f]{8}$/);
  });
});

describe('kubernetes state from the cluster', () => {
  const deployment = (available: number) => ({
    metadata: { generation: 2 },
    spec: { replicas: 2 },
    status: { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: available },
  });
  const pending = (name: string, message: string): PodView => ({
    metadata: { name },
    status: {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }],
    },
  });

  it('reports Unschedulable with the scheduler message', () => {
    const status = deploymentStatus(deployment(0), [
      pending('a', '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.'),
      pending('b', '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.'),
    ]);
    assert.equal(status.state, 'Unhealthy');
    assert.equal(
      status.reason,
      '2 of 2 pod(s): Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.',
    );
    assert.deepEqual(
      status.replicas.map((replica) => replica.state),
      ['unhealthy', 'unhealthy'],
    );
  });

  it('reports ImagePullBackOff, CrashLoopBackOff and OOMKilled as failures with restarts', () => {
    const waiting = (reason: string, restarts = 0, last?: string): PodView => ({
      metadata: { name: reason },
      status: {
        phase: 'Pending',
        podIP: '10.1.0.5',
        containerStatuses: [
          {
            ready: false,
            restartCount: restarts,
            state: { waiting: { reason, message: `${reason} says why` } },
            ...(last === undefined ? {} : { lastState: { terminated: { reason: last, exitCode: 137 } } }),
          },
        ],
      },
    });
    const pull = deploymentStatus(deployment(0), [waiting('ImagePullBackOff')]);
    assert.equal(pull.state, 'Failed');
    assert.match(pull.reason ?? '', /ImagePullBackOff: ImagePullBackOff says why/);
    const crash = deploymentStatus(deployment(0), [waiting('CrashLoopBackOff', 4)]);
    assert.equal(crash.replicas[0]?.restarts, 4);
    assert.equal(crash.replicas[0]?.url, 'http://10.1.0.5:5001');
    assert.match(crash.reason ?? '', /CrashLoopBackOff/);
    const oom = deploymentStatus(deployment(0), [waiting('CrashLoopBackOff', 2, 'OOMKilled')]);
    assert.match(oom.reason ?? '', /OOMKilled/);
  });

  it("gives a crashing container's last words: the server's failed line, else its last log line", () => {
    const crashed = (message: string): PodView => ({
      metadata: { name: 'c' },
      status: {
        phase: 'Running',
        containerStatuses: [
          {
            restartCount: 2,
            state: {
              waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container' },
            },
            lastState: { terminated: { reason: 'Error', exitCode: 1, message } },
          },
        ],
      },
    });
    const script = deploymentStatus(deployment(1), [
      crashed(
        '{"level":"info","event":"starting"}\n{"event":"failed","code":"RUN_FAILED","message":"init: cannot open vocabulary file vocab-42.json"}\n',
      ),
    ]);
    assert.equal(script.state, 'Failed');
    assert.equal(
      script.reason,
      '1 of 1 pod(s): CrashLoopBackOff: init: cannot open vocabulary file vocab-42.json (last exit code 1)',
    );
    const plain = deploymentStatus(deployment(1), [crashed('starting\nError: no such file /models/x\n')]);
    assert.match(
      plain.reason ?? '',
      /CrashLoopBackOff: Error: no such file \/models\/x \(last exit code 1\)$/,
    );
    const silent = deploymentStatus(deployment(1), [crashed('')]);
    assert.match(
      silent.reason ?? '',
      /CrashLoopBackOff: back-off 20s restarting failed container \(last exit code 1\)$/,
    );
  });

  it('is Healthy once the rollout is available, Transitioning before', () => {
    const ready: PodView = {
      metadata: { name: 'r' },
      status: { phase: 'Running', podIP: '10.1.0.9', conditions: [{ type: 'Ready', status: 'True' }] },
    };
    assert.equal(deploymentStatus(deployment(2), [ready, ready], 't').state, 'Healthy');
    assert.equal(deploymentStatus(deployment(2), [ready], 't').replicas[0]?.token, 't');
    const starting = deploymentStatus(deployment(1), [
      ready,
      { metadata: { name: 's' }, status: { phase: 'Pending' } },
    ]);
    assert.equal(starting.state, 'Transitioning');
    assert.equal(starting.reason, '1 of 2 replica(s) available');
    assert.equal(deploymentStatus(undefined, []).state, 'Failed');
  });
});

describe('kubernetes target config', () => {
  it('reads the kubeconfig from KUBECONFIG, and names a missing file or an unknown context', async () => {
    const { createKubernetesTarget, defaultKubeconfig } =
      await import('../../src/targets/kubernetes/index.js');
    const { writeFileSync } = await import('node:fs');
    assert.equal(defaultKubeconfig({ KUBECONFIG: '/a/one:/a/two' }), '/a/one');
    const missing = createKubernetesTarget({ kind: 'kubernetes', kubeconfig: join(dir, 'none') });
    assert.throws(() => missing.connect(), /no kubeconfig at .*none/);
    const file = join(dir, 'kubeconfig');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: dev, context: {cluster: c, user: u, namespace: team}}]',
        'current-context: dev',
        '',
      ].join('\n'),
    );
    assert.equal(
      createKubernetesTarget({ kind: 'kubernetes', kubeconfig: file }).connect().namespace,
      'team',
    );
    const wrong = createKubernetesTarget({ kind: 'kubernetes', kubeconfig: file, context: 'my-aks' });
    assert.throws(() => wrong.connect(), /no context "my-aks" in .* \(it has dev\)/);
    assert.throws(
      () => createKubernetesTarget({ kind: 'kubernetes', namespace: 'Bad_NS' } as never),
      /namespace: expected a DNS-1123 label/,
    );
  });
});
