/**
 * Level 3: the Kubernetes target on a cluster with a node where pods really run
 * (test/helpers/kube-cluster.ts with `node: true`: etcd, kube-apiserver, controller manager,
 * scheduler, a kubelet on a containerd of its own, a CNI bridge of the test's own, a loopback
 * registry). `berth deployment create --set target=<kubernetes target>` builds the container
 * target's image, pushes it to the registry, applies the objects and waits, through watches, for
 * the pods to be Running and ready; the gateway then scores through the pods at their IPs on the
 * bridge, with the same results as ONNX Runtime on this machine. A rolling update keeps serving,
 * pod logs come through the API server, and removal leaves nothing in the cluster.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { OutgoingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { replicaTarget, withReplicaToken } from '../../src/endpoints/replica-token.js';
import { EndpointOperations } from '../../src/sdk/endpoints.js';
import { Workspace } from '../../src/sdk/workspace.js';
import { createKubernetesTarget, type KubernetesTarget } from '../../src/targets/kubernetes/index.js';
import { dockerOrSkip, ensureTestBaseImage } from '../fixtures/docker-base-image.js';
import { runBerth } from '../helpers/cli.js';
import { failures, steadyLoad, send, type Answer } from '../helpers/http.js';
import { kubeOrSkip, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';
import { kubeNodeMissing } from '../helpers/kube-node.js';
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

/** Rows of three features, different on every call. */
function rows(count: number, seed: number): number[][] {
  return Array.from({ length: count }, (_, i) => [0, 1, 2].map((j) => ((i * 3 + j + seed) % 17) / 4 - 2));
}

describe('kubernetes target with a node: pods run berth’s image (level 3)', { skip }, () => {
  const name = `k8s-node-${process.pid}`;
  let cluster: KubeCluster;
  let ws: TestWorkspace;
  let endpoints: EndpointOperations;
  let probe: KubernetesTarget;
  let local: ort.InferenceSession;

  before(async () => {
    cluster = await startKubeCluster({ node: true });
    const node = cluster.node!;
    const baseImage = await ensureTestBaseImage();
    ws = await linearWorkspace('k8s-node');
    local = await ort.InferenceSession.create(readFileSync(join(ws.root, 'linear.onnx')));
    // The pods pull with this Secret (the loopback registry asks for no credentials, so a wrong
    // Secret would not fail the pull: that it is passed through is checked on the pod spec).
    const auth = Buffer.from('berth:unused').toString('base64');
    probe = createKubernetesTarget({
      kind: 'kubernetes',
      name,
      kubeconfig: cluster.kubeconfig,
      buildImage: false,
    });
    await probe.connect().apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'regcred', namespace: 'default' },
      type: 'kubernetes.io/dockerconfigjson',
      data: {
        '.dockerconfigjson': Buffer.from(JSON.stringify({ auths: { [node.registry]: { auth } } })).toString(
          'base64',
        ),
      },
    });
    const workspace = await Workspace.open({ dir: ws.dir });
    try {
      await workspace.targets.create({
        name,
        kind: 'kubernetes',
        settings: {
          kubeconfig: cluster.kubeconfig,
          registry: `${node.registry}/berth`,
          imagePullSecret: 'regcred',
          baseImage,
          cacheDir: join(ws.root, 'k8s-cache'),
          rolloutTimeoutMs: 180_000,
        },
      });
    } finally {
      await workspace.close();
    }
    endpoints = new EndpointOperations({ workspaceDir: ws.dir });
  });
  after(async () => {
    await local?.release();
    await probe?.close();
    await ws?.cleanup();
    await cluster?.stop();
  });

  it('deploys with --set target=NAME to Available, scores through the pods as ONNX Runtime does, rolls an update with no failed request, removes everything', async () => {
    const node = cluster.node!;
    await endpoints.create({ file: await ws.yaml('endpoint', 'name: shop\nauth_mode: key\n') });
    const created = await runBerth(
      [
        'deployment',
        'create',
        '-f',
        await ws.yaml(
          'blue',
          linearDeployment('blue', 'shop').replace('instance_count: 1', 'instance_count: 2'),
        ),
        '--set',
        `target=${name}`,
        '--all-traffic',
      ],
      { workspace: ws.dir },
    );
    assert.equal(created.code, 0, `${created.stdout}\n${created.stderr}`);

    const shown = await endpoints.getDeployment('shop', 'blue');
    assert.equal(shown.state, 'Healthy', JSON.stringify(shown));
    assert.equal(shown.target, name);
    const prefix = node.subnet.replace(/0\/24$/, '');
    const ready = shown.replicas.filter((replica) => replica.state === 'ready');
    assert.equal(ready.length, 2, JSON.stringify(shown.replicas));
    for (const replica of ready) assert.ok(replica.url?.startsWith(`http://${prefix}`), replica.url ?? '');

    // The image came from the loopback registry, with the pull Secret on the pod spec.
    const pods = await probe.connect().list('v1', 'Pod', `berth.dev/deployment=blue`);
    assert.equal(pods.length, 2);
    for (const pod of pods) {
      const spec = pod.spec as {
        imagePullSecrets?: { name: string }[];
        containers: { image: string }[];
        nodeName?: string;
      };
      assert.deepEqual(
        spec.imagePullSecrets?.map((secret) => secret.name),
        ['regcred'],
      );
      assert.ok(spec.containers[0]?.image.startsWith(`${node.registry}/berth/berth-app:`));
      assert.equal(spec.nodeName, node.name);
      assert.equal((pod.status as { phase?: string }).phase, 'Running');
    }
    assert.ok((await node.images()).some((image) => image.startsWith(`${node.registry}/berth/berth-app:`)));
    const catalog = (await (await fetch(`http://${node.registry}/v2/_catalog`)).json()) as {
      repositories: string[];
    };
    assert.deepEqual(catalog.repositories, ['berth/berth-app']);

    // Scores through the gateway, answered by the pods, equal ONNX Runtime's here.
    const data = rows(5, 1);
    const answer = await endpoints.invoke('shop', { body: JSON.stringify({ data }) });
    assert.equal(answer.status, 200, answer.body);
    const expected = await local.run({
      x: new ort.Tensor('float32', Float32Array.from(data.flat()), [5, 3]),
    });
    const want = Array.from(expected.y!.data as Float32Array);
    const got = (JSON.parse(answer.body) as number[][]).flat();
    assert.equal(got.length, want.length);
    for (const [i, value] of got.entries())
      assert.ok(Math.abs(value - want[i]!) < 1e-5, `${value} vs ${want[i]}`);

    // A pod answers on its own IP too (with the deployment's replica token, as the gateway sends it).
    const handle = { target: name, kind: 'kubernetes' as const, id: 'shop/blue', data: {} };
    const token = (await probe.status(handle)).replicas[0]?.token ?? '';
    const refused = await send(`${ready[0]!.url}/score`, { raw: Buffer.from(JSON.stringify({ data })) });
    assert.equal(refused.status, 401, 'a pod serves only with the replica token');
    const headers: OutgoingHttpHeaders = {};
    const direct = await send(
      replicaTarget(withReplicaToken(ready[0]!.url!, token), '/score', headers).href,
      { raw: Buffer.from(JSON.stringify({ data })), headers: headers as Record<string, string> },
    );
    assert.equal(direct.status, 200, direct.body);
    assert.deepEqual(JSON.parse(direct.body), JSON.parse(answer.body));

    // A rolling update (a changed setting rolls the pods) with steady traffic: no failed request.
    const { scoringUri } = await endpoints.get('shop');
    const { primaryKey } = await endpoints.getCredentials('shop');
    const body = Buffer.from(JSON.stringify({ data: rows(1, 2) }));
    const load = steadyLoad(
      () => send(scoringUri, { raw: body, headers: { authorization: `Bearer ${primaryKey}` } }),
      { clients: 2, maxMs: 170_000 },
    );
    let answers: Answer[] = [];
    const before = new Set(pods.map((pod) => pod.metadata.name));
    try {
      const updated = await endpoints.updateDeployment('shop', 'blue', {
        set: ['environment_variables.MODE=two'],
      });
      assert.equal(updated.deployment.state, 'Healthy', JSON.stringify(updated.deployment));
    } finally {
      answers = await load.stop();
    }
    assert.ok(answers.length > 0);
    assert.deepEqual(failures(answers), []);
    const after = await probe.connect().list('v1', 'Pod', `berth.dev/deployment=blue`);
    const running = after.filter(
      (pod) => (pod.metadata as { deletionTimestamp?: string }).deletionTimestamp === undefined,
    );
    assert.equal(running.length, 2);
    for (const pod of running) assert.ok(!before.has(pod.metadata.name), `${pod.metadata.name} was rolled`);

    // Pod logs through the API server (which reaches the kubelet on the bridge).
    const lines = [];
    for await (const line of endpoints.deploymentLogs('shop', 'blue', { lines: 200 })) lines.push(line);
    assert.ok(lines.length > 0, 'pod logs');
    assert.ok(
      lines.every((line) => running.some((pod) => pod.metadata.name === line.replica)),
      'the new pods',
    );

    await endpoints.update('shop', { traffic: {} });
    await endpoints.deleteDeployment('shop', 'blue');
    assert.deepEqual(await probe.leftovers(handle), []);
    await endpoints.delete('shop');
  });
});
