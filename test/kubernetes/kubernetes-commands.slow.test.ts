/**
 * The Kubernetes commands through the real `berth` executable, against a real kube-apiserver
 * (test/helpers/kube-cluster.ts): `berth target create prod --type kubernetes …` records a target
 * (its flags refused for other kinds), and `berth deployment create -f blue.yml --set target=prod
 * --dry-run --output DIR` writes the manifests in the versions the server serves, applying nothing.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { createKubernetesTarget } from '../../src/targets/kubernetes/index.js';
import type { KubeObject } from '../../src/targets/kubernetes/objects.js';
import { runBerth } from '../helpers/cli.js';
import { kubeOrSkip, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';
import { linearDeployment, linearWorkspace, type TestWorkspace } from '../server/helpers.js';

const skip = kubeOrSkip();

describe('berth target create --type kubernetes and deployment create --dry-run', { skip }, () => {
  let cluster: KubeCluster;
  let ws: TestWorkspace;
  before(async () => {
    cluster = await startKubeCluster({ controllers: false });
    ws = await linearWorkspace('k8s-cli');
  });
  after(async () => {
    await ws?.cleanup();
    await cluster?.stop();
  });

  it('records a kubernetes target, and refuses its flags on another kind', async () => {
    const created = await runBerth(
      [
        'target',
        'create',
        'prod',
        '--type',
        'kubernetes',
        '--kubeconfig',
        cluster.kubeconfig,
        '--namespace',
        'ml',
        '--registry',
        'registry.example.com/ml',
        '--image-pull-secret',
        'regcred',
        '--json',
      ],
      { workspace: ws.dir },
    );
    assert.equal(created.code, 0, created.stderr);
    const record = JSON.parse(created.stdout) as { kind: string; config: Record<string, unknown> };
    assert.equal(record.kind, 'kubernetes');
    assert.equal(record.config.namespace, 'ml');
    const wrong = await runBerth(['target', 'create', 'dev', '--type', 'container', '--namespace', 'ml'], {
      workspace: ws.dir,
    });
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /--namespace applies to --type kubernetes only, not container/);
    const bad = await runBerth(['target', 'create', 'bad', '--type', 'kubernetes', '--namespace', 'Not_OK'], {
      workspace: ws.dir,
    });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /namespace/);
  });

  it('writes the manifests with --dry-run --output, in the served versions, applying nothing', async () => {
    const file = await ws.yaml(
      'blue',
      linearDeployment(
        'blue',
        'shop',
        'scale_settings:\n  type: target_utilization\n  min_instances: 1\n  max_instances: 3\nresources:\n  requests:\n    cpu: "0.5"\n',
      ),
    );
    const out = join(ws.root, 'manifests');
    const result = await runBerth(
      ['deployment', 'create', '-f', file, '--set', 'target=prod', '--dry-run', '--output', out],
      { workspace: ws.dir },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /manifests written, nothing applied/);
    const objects = readdirSync(out).map(
      (name) => parse(readFileSync(join(out, name), 'utf8')) as KubeObject,
    );
    const byKind = Object.fromEntries(objects.map((object) => [object.kind, object]));
    assert.equal(byKind.Deployment?.metadata.namespace, 'ml');
    assert.equal(byKind.PodDisruptionBudget?.apiVersion, 'policy/v1beta1');
    // The autoscaler, once spec resolution carries scale_settings; the version is the server's either way.
    if (byKind.HorizontalPodAutoscaler !== undefined) {
      assert.equal(byKind.HorizontalPodAutoscaler.apiVersion, 'autoscaling/v2beta2');
    }
    const image = (
      byKind.Deployment as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } }
    ).spec.template.spec.containers[0]?.image;
    assert.match(image ?? '', /^registry\.example\.com\/ml\/berth-app:[0-9a-f]{32}$/);
    // Nothing reached the cluster.
    const target = createKubernetesTarget({
      kind: 'kubernetes',
      kubeconfig: cluster.kubeconfig,
      namespace: 'ml',
    });
    assert.deepEqual(
      await target.connect().list('v1', 'ConfigMap', 'app.kubernetes.io/managed-by=berth'),
      [],
    );
    assert.equal(await target.connect().read(byKind.Deployment), undefined);
    const notCluster = await runBerth(
      ['deployment', 'create', '-f', file, '--set', 'target=local', '--dry-run', '--output', out],
      { workspace: ws.dir },
    );
    assert.equal(notCluster.code, 2);
    assert.match(notCluster.stderr, /not kubernetes/);
  });
});
