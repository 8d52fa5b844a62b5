/**
 * Level 2 (API server, controller manager, scheduler; no node): the in-cluster gateway's objects
 * applied by berth with only its documented rights (a namespaced service account with berth's
 * Role), and the gateway itself (src/endpoints/in-cluster.ts) run here as the gateway's own service
 * account, with nothing but the Role berth gave it: it follows the endpoint's ConfigMap (a traffic
 * change and a key change are routed without a restart and without touching the pods' template),
 * watches the deployment's pods (Pending here: the 503 names the scheduler's reason), and is
 * refused any Secret it was not given. Removal leaves no gateway object or pod.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import { GatewayRunner } from '../../src/endpoints/in-cluster.js';
import type { Cluster } from '../../src/targets/kubernetes/client.js';
import { gatewayManifests } from '../../src/targets/kubernetes/gateway-manifests.js';
import {
  berthRbac,
  createKubernetesTarget,
  type KubernetesTarget,
} from '../../src/targets/kubernetes/index.js';
import type { KubeObject } from '../../src/targets/kubernetes/objects.js';
import type { EndpointRouting } from '../../src/targets/target.js';
import { kubeOrSkip, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';
import { linearDeployment } from '../targets/helpers.js';

const skip = kubeOrSkip();

/** The token the controller manager's token controller gives a service account. */
async function serviceAccountToken(admin: Cluster, name: string, namespace: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const account = await admin.read({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name, namespace },
    });
    const secretName = (account?.secrets as { name: string }[] | undefined)?.[0]?.name;
    if (secretName !== undefined) {
      const secret = await admin.read({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: secretName, namespace },
      });
      const stored = (secret?.data as { token?: string } | undefined)?.token;
      if (stored !== undefined) return Buffer.from(stored, 'base64').toString();
    }
    assert.ok(Date.now() < deadline, `no token for service account ${namespace}/${name}`);
    await sleep(250);
  }
}

async function readyConfig(runner: GatewayRunner): Promise<string | null> {
  const answer = await fetch(`http://127.0.0.1:${runner.healthPort}/ready`);
  return ((await answer.json()) as { config: string | null }).config;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `${what}: not after ${timeoutMs} ms`);
    await sleep(100);
  }
}

describe('in-cluster gateway against a real API server (level 2)', { skip }, () => {
  let cluster: KubeCluster;
  let admin: Cluster;
  let dir: string;
  let target: KubernetesTarget;
  let runner: GatewayRunner | undefined;

  before(async () => {
    cluster = await startKubeCluster();
    dir = mkdtempSync(join(tmpdir(), 'berth-k8s-gateway-'));
    admin = createKubernetesTarget({ kind: 'kubernetes', kubeconfig: cluster.kubeconfig }).connect();
    await admin.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ml' } });
    for (const object of berthRbac('ml')) await admin.apply(object);
    const token = await serviceAccountToken(admin, 'berth', 'ml');
    target = createKubernetesTarget({
      kind: 'kubernetes',
      name: 'prod',
      kubeconfig: cluster.kubeconfigFor('berth', token, 'ml'),
      buildImage: false,
      gateway: 'in-cluster',
      gatewayReplicas: 1,
      gatewayImage: 'registry.invalid/berth-gateway:test',
      cacheDir: join(dir, 'cache'),
      reasonGraceMs: 2_000,
    });
  });
  after(async () => {
    await runner?.stop();
    await target?.close();
    await cluster?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('applies the gateway with berth’s rights, runs it with the gateway’s own, follows changes, removes it', async () => {
    const request = { requestTimeoutMs: 5000, maxConcurrentRequestsPerInstance: 2, instanceCount: 2 };
    const routing: EndpointRouting = {
      authMode: 'key',
      keys: { primary: 'first-key', secondary: undefined },
      traffic: { blue: 100 },
      mirror: { green: 50 },
      deployments: [
        { name: 'blue', target: 'prod', deployed: true, ...request },
        { name: 'green', target: 'prod', deployed: true, ...request },
      ],
    };
    // The deployment's own objects (its pods stay Pending: no node).
    const spec = linearDeployment(dir, { target: 'prod', endpointName: 'shop', deploymentName: 'blue' });
    await target.apply(spec, () => {});

    // While no deployment of the endpoint is deployed here, there is no gateway.
    const creating = routing.deployments.map((deployment) => ({ ...deployment, deployed: false }));
    await target.routeEndpoint('shop', { ...routing, deployments: creating });
    assert.deepEqual(await target.gatewaysInCluster().leftovers('shop'), []);

    // The gateway's rollout reports the cluster's reason, as a deployment's does.
    await assert.rejects(target.routeEndpoint('shop', routing), (error) => {
      assert.match((error as Error).message, /berth-gateway-shop.*Unschedulable/);
      return true;
    });
    const gateways = target.gatewaysInCluster();
    const kinds = (await gateways.leftovers('shop')).map((object) => object.kind).sort();
    for (const kind of [
      'ConfigMap',
      'Deployment',
      'Pod',
      'Role',
      'RoleBinding',
      'Secret',
      'Service',
      'ServiceAccount',
    ])
      assert.ok(kinds.includes(kind), `${kind} in ${kinds.join(', ')}`);
    // A re-apply with no change writes nothing, and waits for no rollout.
    const again = await gateways.apply('shop', routing, () => {});
    assert.deepEqual(
      again.actions.filter((action) => !action.endsWith(' unchanged')),
      [],
    );

    // The gateway, run here as its service account with the Role berth gave it.
    const gatewayToken = await serviceAccountToken(admin, 'berth-gateway-shop', 'ml');
    const gatewayCluster = createKubernetesTarget({
      kind: 'kubernetes',
      kubeconfig: cluster.kubeconfigFor('berth-gateway-shop', gatewayToken, 'ml'),
    }).connect();
    runner = await GatewayRunner.start({
      cluster: gatewayCluster,
      name: 'berth-gateway-shop',
      host: '127.0.0.1',
      port: 0,
      healthPort: 0,
      log: () => {},
    });
    const first = again.manifests.configSha256;
    await until('the gateway routes by the ConfigMap', async () => (await readyConfig(runner!)) === first);
    const url = `${runner.gateway.url}/endpoints/shop/score`;
    const score = (key: string) =>
      fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ data: [[1, 2, 3]] }),
      });
    assert.equal((await score('wrong')).status, 401);
    // blue's pods are watched through the API server: Pending, with the scheduler's reason.
    await until('the gateway sees blue’s pods', async () => {
      const answer = await score('first-key');
      const text = await answer.text();
      return answer.status === 503 && /Unschedulable/.test(text);
    });

    // A traffic change and a new key: the ConfigMap and Secret change, the pods' template does not.
    const generation = async () =>
      (
        (await admin.read({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'berth-gateway-shop', namespace: 'ml' },
        })) as KubeObject & { metadata: { generation: number } }
      ).metadata.generation;
    const before = await generation();
    const changed: EndpointRouting = {
      ...routing,
      keys: { primary: 'second-key', secondary: undefined },
      traffic: { blue: 30, green: 70 },
      mirror: {},
    };
    await target.routeEndpoint('shop', changed);
    assert.equal(await generation(), before, 'the gateway pods are not rolled by a routing change');
    const second = gatewayManifests(
      { target: 'prod', namespace: 'ml', image: 'x', replicas: 1, imagePullSecret: undefined },
      'shop',
      changed,
    ).configSha256;
    assert.notEqual(second, first);
    await until('the gateway follows the change', async () => (await readyConfig(runner!)) === second);
    assert.equal((await score('first-key')).status, 401, 'the old key is gone');
    assert.equal((await score('second-key')).status, 503, 'the new key is taken');
    // Its counters, on the health port: the requests it took, none left in flight.
    const statistics = (await (
      await fetch(`http://127.0.0.1:${runner.healthPort}/statistics`)
    ).json()) as Record<string, Record<string, { requests: number; inFlight: number }>>;
    assert.deepEqual(Object.keys(statistics), ['shop']);
    const counters = Object.values(statistics.shop!);
    assert.equal(counters.length, 2);
    assert.ok(counters.reduce((sum, counter) => sum + counter.requests, 0) >= 2, JSON.stringify(statistics));
    assert.deepEqual(
      counters.map((counter) => counter.inFlight),
      [0, 0],
    );

    // The gateway's account reads only the Secrets it was given.
    await assert.rejects(
      gatewayCluster.read({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'berth-gateway-other' } }),
      (error) => hasErrorCode(error, 'UNAUTHORIZED'),
    );
    await assert.rejects(gatewayCluster.list('v1', 'ConfigMap', ''), (error) =>
      hasErrorCode(error, 'UNAUTHORIZED'),
    );

    // The endpoint gone: every gateway object and pod is deleted.
    await target.routeEndpoint('shop', undefined);
    assert.deepEqual(await gateways.leftovers('shop'), []);
    const handle = { target: 'prod', kind: 'kubernetes' as const, id: 'shop/blue', data: {} };
    assert.ok((await target.leftovers(handle)).length > 0, 'the deployment’s own objects stay');
    await target.remove(handle);
  });
});
