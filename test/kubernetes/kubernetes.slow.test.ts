/**
 * The Kubernetes target against a real control plane (test/helpers/kube-cluster.ts: etcd,
 * kube-apiserver, controller manager and scheduler v1.20.2, no node): discovery chooses the HPA
 * version the server serves, a deployment is validated by a server-side dry run and applied with
 * server-side apply, a re-apply changes nothing, an update rolls the Deployment, `--dry-run`-style
 * manifests are written without touching the cluster, deploy() follows the rollout through
 * watches and fails with the cluster's reason (Unschedulable: no node), and removal leaves nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { hasErrorCode } from '../../src/core/errors.js';
import {
  createKubernetesTarget,
  writeManifests,
  type KubernetesTarget,
} from '../../src/targets/kubernetes/index.js';
import { changeMark } from '../../src/targets/kubernetes/client.js';
import type { KubeObject } from '../../src/targets/kubernetes/objects.js';
import type { DeploymentHandle, ResolvedDeployment } from '../../src/targets/target.js';
import { kubeOrSkip, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';
import { linearDeployment } from '../targets/helpers.js';

const skip = kubeOrSkip();

function versions(objects: KubeObject[]): Record<string, string> {
  return Object.fromEntries(
    objects.map((object) => [`${object.kind}/${object.metadata.name}`, changeMark(object)]),
  );
}

describe('kubernetes target against kube-apiserver v1.20.2 (no node)', { skip }, () => {
  let cluster: KubeCluster;
  let target: KubernetesTarget;
  let dir: string;
  let spec: ResolvedDeployment;
  const handle = (): DeploymentHandle => ({
    target: 'prod',
    kind: 'kubernetes',
    id: `${spec.endpointName}/${spec.deploymentName}`,
    data: {},
  });

  before(async () => {
    cluster = await startKubeCluster();
    dir = mkdtempSync(join(tmpdir(), 'berth-k8s-test-'));
    target = createKubernetesTarget({
      kind: 'kubernetes',
      name: 'prod',
      kubeconfig: cluster.kubeconfig,
      registry: 'registry.example.com/ml',
      imagePullSecret: 'regcred',
      buildImage: false,
      cacheDir: join(dir, 'cache'),
      rolloutTimeoutMs: 120_000,
      reasonGraceMs: 3_000,
    });
    spec = linearDeployment(dir, {
      target: 'prod',
      endpointName: 'shop',
      deploymentName: 'blue',
      instanceCount: 2,
      environmentVariables: { MODE: 'one' },
      resources: { cpu: 0.5, memoryBytes: 256 * 1024 ** 2, gpu: 0 },
    });
  });
  after(async () => {
    await target?.close();
    await cluster?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('chooses the HPA version the server serves: autoscaling/v2beta2 (1.20 has no v2)', async () => {
    assert.deepEqual(await target.connect().servedApis(), {
      hpa: 'autoscaling/v2beta2',
      pdb: 'policy/v1beta1',
    });
  });

  it('refuses a wrongly typed field in the server-side dry run, naming it, and stores nothing', async () => {
    const broken: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'broken', namespace: 'default' },
      spec: { replicas: 'two', selector: { matchLabels: { a: 'b' } }, template: {} },
    };
    await assert.rejects(target.connect().apply(broken, true), (error) => {
      assert.ok(hasErrorCode(error, 'INVALID_SPEC'), String(error));
      assert.match((error as Error).message, /replicas/);
      return true;
    });
    assert.equal(await target.connect().read(broken), undefined);
  });

  it('applies every object, then a re-apply changes nothing', async () => {
    const first = await target.apply(spec, () => {});
    assert.deepEqual(first.actions.map((line) => line.replace(/ created$/, '')).sort(), [
      'ConfigMap default/shop-blue',
      'Deployment default/shop-blue',
      'PodDisruptionBudget default/shop-blue',
      'Secret default/shop-blue',
      'Service default/shop-blue',
    ]);
    const stored = await Promise.all(first.manifests.objects.map((object) => target.connect().read(object)));
    const again = await target.apply(spec, () => {});
    assert.ok(
      again.actions.every((line) => line.endsWith(' unchanged')),
      again.actions.join('\n'),
    );
    const after = await Promise.all(first.manifests.objects.map((object) => target.connect().read(object)));
    assert.deepEqual(versions(after as KubeObject[]), versions(stored as KubeObject[]));
  });

  it('keeps a field another manager set, and an update rolls the Deployment', async () => {
    const cluster = target.connect();
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'shop-blue' } };
    // A user's own annotation, applied by another field manager, survives berth's re-apply.
    await cluster.objects.patch(
      {
        ...deployment,
        metadata: { ...deployment.metadata, namespace: 'default', annotations: { team: 'ml' } },
      },
      undefined,
      undefined,
      'someone-else',
      false,
      'application/apply-patch+yaml',
    );
    const before = (await cluster.read(deployment)) as KubeObject & { metadata: { generation: number } };
    const updated = await target.apply({ ...spec, environmentVariables: { MODE: 'two' } }, () => {});
    assert.ok(
      updated.actions.includes('Deployment default/shop-blue configured'),
      updated.actions.join('\n'),
    );
    assert.ok(updated.actions.includes('ConfigMap default/shop-blue configured'));
    assert.ok(updated.actions.includes('Secret default/shop-blue unchanged'));
    const after = (await cluster.read(deployment)) as KubeObject & { metadata: { generation: number } };
    assert.equal(after.metadata.annotations?.team, 'ml');
    assert.ok(after.metadata.generation > before.metadata.generation);
  });

  it('writes the manifests in the served versions without applying anything', async () => {
    const out = join(dir, 'manifests');
    const other = { ...spec, deploymentName: 'green' };
    const written = await writeManifests(target, other, out, () => {});
    assert.equal(written.files.length, 5);
    const kinds = readdirSync(out).map(
      (file) => (parse(readFileSync(join(out, file), 'utf8')) as KubeObject).kind,
    );
    assert.deepEqual(kinds.sort(), ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Secret', 'Service']);
    assert.equal(
      await target
        .connect()
        .read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'shop-green' } }),
      undefined,
    );
  });

  it('deploy follows the rollout and fails with the cluster reason: Unschedulable, no node', async () => {
    const progress: string[] = [];
    const started = Date.now();
    await assert.rejects(
      target.deploy(spec, (line) => progress.push(line)),
      (error) => {
        assert.ok(hasErrorCode(error, 'RUN_FAILED'), String(error));
        assert.match((error as Error).message, /Unschedulable: no nodes available to schedule pods/);
        return true;
      },
    );
    // The reason ended the wait, not the 120 s rollout timeout.
    assert.ok(Date.now() - started < 100_000);
    assert.ok(
      progress.some((line) => /Unschedulable/.test(line)),
      progress.join('\n'),
    );
    const status = await target.status(handle());
    assert.equal(status.state, 'Unhealthy');
    // Two pods of the first version, and the surge pod of the update, none scheduled.
    assert.equal(status.replicas.length, 3);
    assert.match(status.reason ?? '', /^3 of 3 pod\(s\): Unschedulable: /);
    assert.ok(status.replicas.every((replica) => replica.token !== undefined && replica.url === undefined));
  });

  it('adds the autoscaler the server serves when scale_settings ask for one', async () => {
    const scaled = {
      ...spec,
      scaleSettings: {
        type: 'target_utilization',
        minInstances: 1,
        maxInstances: 4,
        targetUtilizationPercentage: 70,
        pollingIntervalMs: 1000,
        scaleUpDelayMs: 2000,
        scaleDownDelayMs: 60_000,
      },
    } as ResolvedDeployment;
    const applied = await target.apply(scaled, () => {});
    assert.ok(
      applied.actions.includes('HorizontalPodAutoscaler default/shop-blue created'),
      applied.actions.join('\n'),
    );
    const hpa = (await target.connect().read({
      apiVersion: 'autoscaling/v2beta2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'shop-blue' },
    })) as KubeObject & { spec: { maxReplicas: number; behavior: unknown } };
    assert.equal(hpa.spec.maxReplicas, 4);
    assert.ok(hpa.spec.behavior !== undefined);
  });

  it('removal deletes exactly what berth owns and leaves nothing', async () => {
    const cluster = target.connect();
    // Something of the user's in the same namespace stays.
    await cluster.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'users-own', namespace: 'default' },
    });
    assert.ok((await target.leftovers(handle())).some((object) => object.kind === 'Pod'));
    await target.remove(handle());
    assert.deepEqual(await target.leftovers(handle()), []);
    assert.ok(await cluster.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'users-own' } }));
    await assert.rejects(target.status(handle()), (error) => hasErrorCode(error, 'NOT_FOUND'));
  });
});
