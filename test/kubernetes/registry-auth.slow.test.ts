/**
 * Level 3 with a registry that asks for credentials (test/helpers/kube-node.ts `registryAuth`:
 * Debian's docker-registry with an htpasswd file of bcrypt hashes), so the pull Secret matters:
 * berth pushes with the credentials `docker login` leaves in $DOCKER_CONFIG/config.json (and, with
 * none there, fails naming `docker login`); a deployment on a target without `imagePullSecret`
 * fails with the kubelet's ErrImagePull/ImagePullBackOff and the registry's reason; the same
 * deployment on a target with the Secret pulls, runs and scores.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EndpointOperations } from '../../src/sdk/endpoints.js';
import { Workspace } from '../../src/sdk/workspace.js';
import { createKubernetesTarget, type KubernetesTarget } from '../../src/targets/kubernetes/index.js';
import { dockerOrSkip, ensureTestBaseImage } from '../fixtures/docker-base-image.js';
import { runBerth } from '../helpers/cli.js';
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

interface PodStatus {
  phase?: string;
  containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[];
}

describe('kubernetes target with a registry that asks for credentials (level 3)', { skip }, () => {
  const username = 'berth';
  const password = randomBytes(9).toString('hex');
  let cluster: KubeCluster;
  let ws: TestWorkspace;
  let endpoints: EndpointOperations;
  let probe: KubernetesTarget;
  let dockerConfig: string;

  const create = (file: string, target: string, extra: string[] = []) =>
    runBerth(['deployment', 'create', '-f', file, '--set', `target=${target}`, ...extra], {
      workspace: ws.dir,
    });
  /** What `docker login` would have left: the credentials for the node's registry, or none. */
  const login = (credentials: boolean) =>
    writeFileSync(
      join(dockerConfig, 'config.json'),
      JSON.stringify({ auths: credentials ? { [cluster.node!.registry]: { auth: basicAuth() } } : {} }),
    );
  const basicAuth = () => Buffer.from(`${username}:${password}`).toString('base64');
  let savedDockerConfig: string | undefined;

  before(async () => {
    cluster = await startKubeCluster({ node: { registryAuth: { username, password } } });
    const node = cluster.node!;
    const baseImage = await ensureTestBaseImage();
    ws = await linearWorkspace('k8s-auth');
    const auth = basicAuth();
    // The control plane (started below, from this process) builds and pushes: it reads the
    // credentials as the docker CLI does, from $DOCKER_CONFIG/config.json, at each push.
    dockerConfig = join(ws.root, 'docker');
    mkdirSync(dockerConfig);
    login(true);
    savedDockerConfig = process.env.DOCKER_CONFIG;
    process.env.DOCKER_CONFIG = dockerConfig;
    probe = createKubernetesTarget({ kind: 'kubernetes', kubeconfig: cluster.kubeconfig, buildImage: false });
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
      const settings = {
        kubeconfig: cluster.kubeconfig,
        registry: `${node.registry}/berth`,
        baseImage,
        cacheDir: join(ws.root, 'k8s-cache'),
        rolloutTimeoutMs: 180_000,
      };
      await workspace.targets.create({ name: 'kauth-bare', kind: 'kubernetes', settings });
      await workspace.targets.create({
        name: 'kauth',
        kind: 'kubernetes',
        settings: { ...settings, imagePullSecret: 'regcred' },
      });
    } finally {
      await workspace.close();
    }
    endpoints = new EndpointOperations({ workspaceDir: ws.dir });
    await endpoints.create({ file: await ws.yaml('endpoint', 'name: shop\nauth_mode: key\n') });
  });
  after(async () => {
    if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = savedDockerConfig;
    await probe?.close();
    await ws?.cleanup();
    await cluster?.stop();
  });

  it('pushes with the credentials of $DOCKER_CONFIG, and without them fails naming docker login', async () => {
    const node = cluster.node!;
    const file = await ws.yaml('red', linearDeployment('red', 'shop'));
    login(false);
    const refused = await create(file, 'kauth').finally(() => login(true));
    assert.notEqual(refused.code, 0, refused.stdout);
    assert.match(
      refused.stderr,
      new RegExp(
        `pushing ${node.registry}/berth/berth-app:[0-9a-f]+: (no basic auth credentials|.*unauthorized).*docker login ${node.registry}`,
        'i',
      ),
    );
    assert.deepEqual(await probe.connect().list('apps/v1', 'Deployment', 'berth.dev/deployment=red'), []);
    await endpoints.deleteDeployment('shop', 'red').catch(() => undefined);
  });

  it("fails with the kubelet's ErrImagePull/ImagePullBackOff without the pull Secret; with it the pods run and score", async () => {
    const node = cluster.node!;
    const handle = (target: string, id: string) => ({ target, kind: 'kubernetes' as const, id, data: {} });

    const blue = await create(await ws.yaml('blue', linearDeployment('blue', 'shop')), 'kauth-bare');
    assert.notEqual(blue.code, 0, blue.stdout);
    assert.match(blue.stderr, /(ErrImagePull|ImagePullBackOff)/, blue.stderr);
    // The registry's own answer, as containerd passed it on through the kubelet.
    assert.match(blue.stderr, /401 Unauthorized|unauthorized|authorization failed/i, blue.stderr);
    const pods = await probe.connect().list('v1', 'Pod', 'berth.dev/deployment=blue');
    assert.ok(pods.length > 0);
    for (const pod of pods) {
      assert.equal((pod.spec as { imagePullSecrets?: unknown }).imagePullSecrets, undefined);
      const waiting = (pod.status as PodStatus).containerStatuses?.[0]?.state?.waiting?.reason ?? '';
      assert.match(waiting, /^(ErrImagePull|ImagePullBackOff)$/, JSON.stringify(pod.status));
    }
    await endpoints.deleteDeployment('shop', 'blue');
    // The control plane records no handle for a create that failed, so its delete leaves the
    // target's objects (the pods above stay, for status to read): removed here through the target.
    await probe.remove(handle('kauth-bare', 'shop/blue'));
    assert.deepEqual(await probe.leftovers(handle('kauth-bare', 'shop/blue')), []);

    const green = await create(await ws.yaml('green', linearDeployment('green', 'shop')), 'kauth', [
      '--all-traffic',
    ]);
    assert.equal(green.code, 0, `${green.stdout}\n${green.stderr}`);
    const shown = await endpoints.getDeployment('shop', 'green');
    assert.equal(shown.state, 'Healthy', JSON.stringify(shown));
    const running = await probe.connect().list('v1', 'Pod', 'berth.dev/deployment=green');
    assert.equal(running.length, 1);
    assert.equal((running[0]!.status as PodStatus).phase, 'Running');
    assert.ok((await node.images()).some((image) => image.startsWith(`${node.registry}/berth/berth-app:`)));
    // y = x·[0.5, -1, 2] + 0.25
    const answer = await endpoints.invoke('shop', { body: JSON.stringify({ data: [[1, 2, 3]] }) });
    assert.equal(answer.status, 200, answer.body);
    assert.deepEqual(JSON.parse(answer.body), [[4.75]]);

    await endpoints.update('shop', { traffic: {} });
    await endpoints.deleteDeployment('shop', 'green');
    assert.deepEqual(await probe.leftovers(handle('kauth', 'shop/green')), []);
    await endpoints.delete('shop');
  });
});
