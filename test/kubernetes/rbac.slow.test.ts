/**
 * berth with only the rights the README documents (src/targets/kubernetes/rbac.ts: a Role in one
 * namespace, bound to a service account), against a real kube-apiserver with RBAC: deploy (server-
 * side dry run, apply, watches), status, logs and removal all work with that token, and the same
 * token is refused in another namespace with the server's reason.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import { berthRbac, createKubernetesTarget } from '../../src/targets/kubernetes/index.js';
import type { KubeObject } from '../../src/targets/kubernetes/objects.js';
import { kubeOrSkip, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';
import { linearDeployment } from '../targets/helpers.js';

const skip = kubeOrSkip();

describe('kubernetes target with a namespaced service account (RBAC)', { skip }, () => {
  let cluster: KubeCluster;
  let dir: string;
  let token: string;
  before(async () => {
    cluster = await startKubeCluster();
    dir = mkdtempSync(join(tmpdir(), 'berth-k8s-rbac-'));
    const admin = createKubernetesTarget({ kind: 'kubernetes', kubeconfig: cluster.kubeconfig }).connect();
    await admin.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ml' } });
    for (const object of berthRbac('ml')) await admin.apply(object);
    // The controller manager's token controller gives the service account its token Secret.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const account = (await admin.read({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'berth', namespace: 'ml' },
      })) as KubeObject & { secrets?: { name: string }[] };
      const secretName = account.secrets?.[0]?.name;
      if (secretName !== undefined) {
        const secret = (await admin.read({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: secretName, namespace: 'ml' },
        })) as KubeObject & { data?: { token?: string } };
        if (secret.data?.token !== undefined) {
          token = Buffer.from(secret.data.token, 'base64').toString();
          break;
        }
      }
      assert.ok(Date.now() < deadline, 'no token for service account ml/berth');
      await sleep(250);
    }
  });
  after(async () => {
    await cluster?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('deploys, reports, reads logs and removes with the documented rights only', async () => {
    const target = createKubernetesTarget({
      kind: 'kubernetes',
      name: 'prod',
      kubeconfig: cluster.kubeconfigFor('berth', token, 'ml'),
      buildImage: false,
      cacheDir: join(dir, 'cache'),
      reasonGraceMs: 2_000,
    });
    const spec = linearDeployment(dir, { target: 'prod', endpointName: 'shop', deploymentName: 'blue' });
    const handle = { target: 'prod', kind: 'kubernetes' as const, id: 'shop/blue', data: {} };
    await assert.rejects(
      target.deploy(spec, () => {}),
      /Unschedulable/,
    );
    const status = await target.status(handle);
    assert.equal(status.state, 'Unhealthy');
    assert.equal(status.replicas[0]?.token !== undefined, true);
    const lines = [];
    for await (const line of target.logs(handle, { lines: 10, follow: false })) lines.push(line);
    assert.deepEqual(lines, []);
    await target.remove(handle);
    assert.deepEqual(await target.leftovers(handle), []);
    await target.close();
  });

  it('is refused in another namespace, with the server reason', async () => {
    const elsewhere = createKubernetesTarget({
      kind: 'kubernetes',
      name: 'prod',
      kubeconfig: cluster.kubeconfigFor('berth-default', token),
      namespace: 'default',
      buildImage: false,
      cacheDir: join(dir, 'cache'),
    });
    const spec = linearDeployment(dir, { target: 'prod', endpointName: 'shop', deploymentName: 'blue' });
    await assert.rejects(
      elsewhere.apply(spec, () => {}),
      (error) => {
        assert.ok(hasErrorCode(error, 'UNAUTHORIZED'), String(error));
        assert.match((error as Error).message, /forbidden.*system:serviceaccount:ml:berth/);
        return true;
      },
    );
  });
});
