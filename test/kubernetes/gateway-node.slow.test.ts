/**
 * Level 3 (a node where pods run; root): an endpoint's gateway in the cluster (`gateway:
 * in-cluster`). berth builds the gateway image and pushes it to the loopback registry, applies the
 * gateway beside two deployments, and the gateway pod finds the API server as any pod does (the
 * `kubernetes` Service's IP, routed to the API server for the node's bridge as kube-proxy would:
 * test/helpers/kube-service-route.ts) and the deployments' pods through its service account.
 * Requests go to the gateway pod's IP (no kube-proxy here, so not through its Service): a mirror
 * sends copies to the mirror deployment's pod, a traffic change is followed under steady load with
 * no failed request, a 70/30 split lands within tolerance, and the endpoint's removal deletes
 * every gateway object and pod.
 */
import assert from 'node:assert/strict';
import type { OutgoingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { replicaTarget, withReplicaToken } from '../../src/endpoints/replica-token.js';
import { EndpointOperations } from '../../src/sdk/endpoints.js';
import { Workspace } from '../../src/sdk/workspace.js';
import { gatewayLabels } from '../../src/targets/kubernetes/gateway-manifests.js';
import { createKubernetesTarget, type KubernetesTarget } from '../../src/targets/kubernetes/index.js';
import { selectorOf } from '../../src/targets/kubernetes/names.js';
import type { PodView } from '../../src/targets/kubernetes/state.js';
import { dockerOrSkip, ensureTestBaseImage } from '../fixtures/docker-base-image.js';
import { runBerth } from '../helpers/cli.js';
import { failures, send, steadyLoad, type Answer } from '../helpers/http.js';
import { kubeOrSkip, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';
import { kubeNodeMissing } from '../helpers/kube-node.js';
import { routeApiServerService } from '../helpers/kube-service-route.js';
import { linearDeployment, linearWorkspace, type TestWorkspace } from '../server/helpers.js';

function nodeOrSkip(): string | undefined {
  const missing = kubeNodeMissing();
  if (missing === undefined) return undefined;
  const why = `no Kubernetes node can run here: ${missing}`;
  if (process.env.CI === 'true') throw new Error(`${why}: CI must provide one`);
  console.log(`# ${why}: level-3 tests skipped`);
  return why;
}

const skip = kubeOrSkip() ?? nodeOrSkip() ?? (await dockerOrSkip());

describe('kubernetes target with an in-cluster gateway (level 3)', { skip }, () => {
  const name = `k8s-gw-${process.pid}`;
  let cluster: KubeCluster;
  let ws: TestWorkspace;
  let endpoints: EndpointOperations;
  let probe: KubernetesTarget;
  let unroute: (() => Promise<void>) | undefined;

  before(async () => {
    cluster = await startKubeCluster({ node: true });
    const node = cluster.node!;
    const baseImage = await ensureTestBaseImage();
    ws = await linearWorkspace('k8s-gw');
    probe = createKubernetesTarget({
      kind: 'kubernetes',
      name,
      kubeconfig: cluster.kubeconfig,
      buildImage: false,
    });
    unroute = await routeApiServerService(probe.connect(), node.bridge, cluster.server);
    const workspace = await Workspace.open({ dir: ws.dir });
    try {
      await workspace.targets.create({
        name,
        kind: 'kubernetes',
        settings: {
          kubeconfig: cluster.kubeconfig,
          registry: `${node.registry}/berth`,
          baseImage,
          cacheDir: join(ws.root, 'k8s-cache'),
          rolloutTimeoutMs: 180_000,
          gateway: 'in-cluster',
          gatewayReplicas: 1,
        },
      });
    } finally {
      await workspace.close();
    }
    endpoints = new EndpointOperations({ workspaceDir: ws.dir });
  });
  after(async () => {
    await probe?.close();
    await ws?.cleanup();
    await unroute?.();
    await cluster?.stop();
  });

  /** The gateway pod (Running, ready) and the sha256 of the config it routes by. */
  async function gatewayPod(): Promise<{ url: string; health: string }> {
    const pods = (await probe
      .connect()
      .list('v1', 'Pod', selectorOf(gatewayLabels(name, 'shop')))) as unknown as PodView[];
    const ready = pods.filter(
      (pod) =>
        pod.metadata?.deletionTimestamp === undefined &&
        pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    assert.equal(ready.length, 1, JSON.stringify(pods.map((pod) => pod.status)));
    const ip = ready[0]!.status!.podIP!;
    return { url: `http://${ip}:8080`, health: `http://${ip}:8081` };
  }

  async function configSha(): Promise<string> {
    const map = await probe.connect().read({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'berth-gateway-shop' },
    });
    return map?.metadata.annotations?.['berth.dev/gateway-config-sha256'] ?? '';
  }

  /** Until the gateway pod routes by the ConfigMap as it is now. */
  async function followed(health: string): Promise<void> {
    const want = await configSha();
    const deadline = Date.now() + 30_000;
    for (;;) {
      const answer = (await (await fetch(`${health}/ready`)).json()) as { config: string | null };
      if (answer.config === want) return;
      assert.ok(Date.now() < deadline, `the gateway routes by ${answer.config}, not ${want}`);
      await sleep(100);
    }
  }

  /** Requests each deployment has in flight at the gateway pod (its /statistics on the health port). */
  async function inFlight(health: string): Promise<Record<string, number>> {
    const statistics = (await (await fetch(`${health}/statistics`)).json()) as Record<
      string,
      Record<string, { inFlight: number }>
    >;
    return Object.fromEntries(
      Object.entries(statistics.shop ?? {}).map(([deployment, counters]) => [deployment, counters.inFlight]),
    );
  }

  /** Until the gateway pod has no request in flight to any deployment (mirror copies included). */
  async function drained(health: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const counts = await inFlight(health);
      if (Object.values(counts).every((count) => count === 0)) return;
      assert.ok(Date.now() < deadline, `still in flight at the gateway: ${JSON.stringify(counts)}`);
      await sleep(100);
    }
  }

  /** Score requests green's pod has answered (its own metrics, read with its replica token). */
  async function greenScored(): Promise<number> {
    const handle = { target: name, kind: 'kubernetes' as const, id: 'shop/green', data: {} };
    const replica = (await probe.status(handle)).replicas.find((r) => r.state === 'ready');
    assert.ok(replica?.url !== undefined);
    const headers: OutgoingHttpHeaders = {};
    const target = replicaTarget(withReplicaToken(replica.url, replica.token), '/metrics', headers);
    const answer = await send(target.href, { method: 'GET', headers: headers as Record<string, string> });
    assert.equal(answer.status, 200, answer.body);
    let total = 0;
    for (const [, labels = '', count = '0'] of answer.body.matchAll(
      /^berth_http_requests_total\{([^}]*)\}\s+(\d+)/gm,
    )) {
      if (/route="[^"]*score[^"]*"/.test(labels) && /status="200"/.test(labels)) total += Number(count);
    }
    return total;
  }

  it('routes in the cluster: mirror, a traffic change under load with no failed request, a 70/30 split; removal leaves nothing', async () => {
    await endpoints.create({ file: await ws.yaml('endpoint', 'name: shop\nauth_mode: key\n') });
    const blue = await runBerth(
      [
        'deployment',
        'create',
        '-f',
        await ws.yaml('blue', linearDeployment('blue', 'shop')),
        '--set',
        `target=${name}`,
        '--all-traffic',
      ],
      { workspace: ws.dir },
    );
    assert.equal(blue.code, 0, `${blue.stdout}\n${blue.stderr}`);
    const green = await runBerth(
      [
        'deployment',
        'create',
        '-f',
        await ws.yaml('green', linearDeployment('green', 'shop')),
        '--set',
        `target=${name}`,
      ],
      { workspace: ws.dir },
    );
    assert.equal(green.code, 0, `${green.stdout}\n${green.stderr}`);

    // The gateway image came from the loopback registry; the gateway pod routes by the ConfigMap.
    const catalog = (await (await fetch(`http://${cluster.node!.registry}/v2/_catalog`)).json()) as {
      repositories: string[];
    };
    assert.deepEqual(catalog.repositories.sort(), ['berth/berth-app', 'berth/berth-gateway']);
    const gateway = await gatewayPod();
    await followed(gateway.health);
    const { primaryKey } = await endpoints.getCredentials('shop');
    const body = Buffer.from(JSON.stringify({ data: [[1, 2, 3]] }));
    const score = () =>
      send(`${gateway.url}/endpoints/shop/score`, {
        raw: body,
        headers: { authorization: `Bearer ${primaryKey}` },
      });
    const refused = await send(`${gateway.url}/endpoints/shop/score`, { raw: body });
    assert.equal(refused.status, 401, refused.body);
    const first = await score();
    assert.equal(first.status, 200, first.body);
    assert.equal(first.headers['berth-deployment'], 'blue');
    const viaServer = await endpoints.invoke('shop', { body: body.toString() });
    assert.deepEqual(
      JSON.parse(first.body),
      JSON.parse(viaServer.body),
      'the same answer as berth server’s gateway',
    );

    // A mirror: half the requests are copied to green, whose answers reach no client.
    await endpoints.update('shop', { mirror: { green: 50 } });
    await followed(gateway.health);
    const before = await greenScored();
    const mirrored: Answer[] = [];
    for (let i = 0; i < 80; i++) mirrored.push(await score());
    assert.deepEqual(failures(mirrored), []);
    assert.ok(mirrored.every((answer) => answer.headers['berth-deployment'] === 'blue'));
    let copies = 0;
    for (let waited = 0; waited < 5000; waited += 250) {
      copies = (await greenScored()) - before;
      await sleep(250);
      if (copies === (await greenScored()) - before && copies > 0) break;
    }
    assert.ok(copies >= 20 && copies <= 60, `green received ${copies} copies of 80 requests at 50%`);
    // Copies a slow mirror still holds count against green's admission bound until they end.
    await drained(gateway.health);

    // A traffic change under steady load: followed without a restart and without a failed request.
    const podBefore = gateway.url;
    const load = steadyLoad(() => score(), { clients: 2, maxMs: 60_000 });
    let during: Answer[] = [];
    try {
      await sleep(500);
      await endpoints.update('shop', { traffic: { blue: 70, green: 30 }, mirror: {} });
      await followed(gateway.health);
      await sleep(500);
    } finally {
      during = await load.stop();
    }
    assert.ok(during.length > 0);
    assert.deepEqual(failures(during), []);
    assert.equal((await gatewayPod()).url, podBefore, 'the same gateway pod');
    await drained(gateway.health);

    // The split: 200 requests, 30% to green within tolerance (3 standard deviations is ±9.7%).
    const split: Answer[] = [];
    for (let i = 0; i < 50; i++) split.push(...(await Promise.all([score(), score(), score(), score()])));
    assert.deepEqual(failures(split), [], JSON.stringify(await inFlight(gateway.health)));
    await drained(gateway.health);
    const toGreen = split.filter((answer) => answer.headers['berth-deployment'] === 'green').length;
    assert.ok(toGreen >= 40 && toGreen <= 80, `green took ${toGreen} of 200 at 30%`);

    // The endpoint removed: its deployments and its gateway leave nothing in the cluster.
    await endpoints.delete('shop');
    assert.deepEqual(await probe.gatewaysInCluster().leftovers('shop'), []);
    for (const deployment of ['blue', 'green']) {
      const handle = { target: name, kind: 'kubernetes' as const, id: `shop/${deployment}`, data: {} };
      assert.deepEqual(await probe.leftovers(handle), []);
    }
  });
});
