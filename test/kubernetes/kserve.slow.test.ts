/**
 * `--kserve` against a real kube-apiserver (level 1): with no KServe there, `deployment create
 * --dry-run --output` refuses with the reason (the server does not serve serving.kserve.io/v1beta1)
 * and writes nothing; once the InferenceService CRD is installed (a stand-in with an open schema:
 * KServe's own CRD is not available here), the same command writes the InferenceService with its
 * ConfigMap and Secret, and nothing is applied.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { createKubernetesTarget } from '../../src/targets/kubernetes/index.js';
import type { KubeObject } from '../../src/targets/kubernetes/objects.js';
import { runBerth } from '../helpers/cli.js';
import { kubeOrSkip, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';
import { linearDeployment, linearWorkspace, type TestWorkspace } from '../server/helpers.js';

const skip = kubeOrSkip();

const inferenceServiceCrd: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'inferenceservices.serving.kserve.io' },
  spec: {
    group: 'serving.kserve.io',
    names: { kind: 'InferenceService', plural: 'inferenceservices', singular: 'inferenceservice' },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1beta1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
};

describe('kubernetes target with --kserve', { skip }, () => {
  let cluster: KubeCluster;
  let ws: TestWorkspace;
  let file: string;
  before(async () => {
    cluster = await startKubeCluster({ controllers: false });
    ws = await linearWorkspace('k8s-kserve');
    file = await ws.yaml('blue', linearDeployment('blue', 'shop'));
    const created = await runBerth(
      ['target', 'create', 'kprod', '--type', 'kubernetes', '--kubeconfig', cluster.kubeconfig, '--kserve'],
      { workspace: ws.dir },
    );
    assert.equal(created.code, 0, created.stderr);
  });
  after(async () => {
    await ws?.cleanup();
    await cluster?.stop();
  });

  const dryRun = (out: string) =>
    runBerth(['deployment', 'create', '-f', file, '--set', 'target=kprod', '--dry-run', '--output', out], {
      workspace: ws.dir,
    });

  it('refuses when the cluster does not serve serving.kserve.io/v1beta1, writing nothing', async () => {
    const out = join(ws.root, 'refused');
    const result = await dryRun(out);
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      /the target says kserve, but the cluster at https:\/\/127\.0\.0\.1:\d+ does not serve serving\.kserve\.io\/v1beta1 \(no serving\.kserve\.io API at all\): KServe is not installed there/,
    );
    assert.equal(existsSync(out) ? readdirSync(out).length : 0, 0);
  });

  it('writes the InferenceService once the cluster serves it, applying nothing', async () => {
    const admin = createKubernetesTarget({ kind: 'kubernetes', kubeconfig: cluster.kubeconfig }).connect();
    await admin.apply(inferenceServiceCrd);
    const out = join(ws.root, 'kserve');
    // The CRD is served once established: discovery may lag it by a moment.
    let result = await dryRun(out);
    for (let tries = 0; result.code !== 0 && tries < 20; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      result = await dryRun(out);
    }
    assert.equal(result.code, 0, result.stderr);
    const objects = readdirSync(out).map(
      (name) => parse(readFileSync(join(out, name), 'utf8')) as KubeObject,
    );
    assert.deepEqual(objects.map((object) => object.kind).sort(), [
      'ConfigMap',
      'InferenceService',
      'Secret',
    ]);
    const service = objects.find((object) => object.kind === 'InferenceService');
    assert.equal(service?.apiVersion, 'serving.kserve.io/v1beta1');
    assert.equal(service?.metadata.namespace, 'default');
    assert.deepEqual(
      await admin.list('serving.kserve.io/v1beta1', 'InferenceService', 'app.kubernetes.io/managed-by=berth'),
      [],
    );
  });
});
