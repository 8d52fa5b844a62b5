import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasErrorCode, type ErrorCode } from '../../src/core/errors.js';
import { stopServer } from '../../src/sdk/control-plane-process.js';
import { EndpointOperations } from '../../src/sdk/endpoints.js';
import { Workspace } from '../../src/sdk/workspace.js';
import { failures, steadyLoad, type Answer } from '../helpers/http.js';
import {
  linearDeployment,
  linearRequest,
  linearWorkspace,
  scoreWith,
  waitFor,
  type TestWorkspace,
} from './helpers.js';

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(hasErrorCode(error, code), `expected ${code}, got ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

describe('endpoints and deployments through the SDK and a real control plane', () => {
  let ws: TestWorkspace;
  let endpoints: EndpointOperations;
  before(async () => {
    ws = await linearWorkspace('lifecycle');
    endpoints = new EndpointOperations({ workspaceDir: ws.dir });
  });
  after(() => ws.cleanup());

  it('creates an endpoint and a blue deployment with all traffic, and scores through the gateway', async () => {
    const { endpoint } = await endpoints.create({
      file: await ws.yaml('endpoint', 'name: shop\nauth_mode: key\n'),
    });
    assert.equal(endpoint.state, 'Healthy');
    assert.match(endpoint.scoringUri, /^http:\/\/127\.0\.0\.1:\d+\/endpoints\/shop\/score$/);
    await rejectsWith(endpoints.create({ name: 'shop' }), 'CONFLICT', /endpoint shop already exists/);

    const blue = await endpoints.createDeployment({
      file: await ws.yaml('blue', linearDeployment('blue', 'shop')),
      allTraffic: true,
    });
    assert.equal(blue.deployment.state, 'Healthy');
    assert.equal(blue.deployment.traffic, 100);
    const answer = await endpoints.invoke('shop', { body: linearRequest });
    assert.equal(answer.status, 200, answer.body);
    assert.equal(answer.deployment, 'blue');
    assert.deepEqual(JSON.parse(answer.body), [[4.75]]);
  });

  it('serves a 0% green deployment only when asked for by header', async () => {
    const green = await endpoints.createDeployment({
      // No version: the latest, resolved once at create and kept through updates and restarts.
      file: await ws.yaml('green', linearDeployment('green', 'shop').replace('azureml:linear:1', 'linear')),
    });
    assert.equal(green.deployment.traffic, 0);
    assert.equal(green.deployment.model, 'linear:1');
    assert.equal(green.deployment.spec.model, 'linear:1');
    const direct = await endpoints.invoke('shop', { body: linearRequest, deployment: 'green' });
    assert.equal(direct.deployment, 'green');
    for (let i = 0; i < 5; i += 1)
      assert.equal((await endpoints.invoke('shop', { body: linearRequest })).deployment, 'blue');
  });

  it('refuses bad traffic, bad mirrors, deleting what takes traffic, and deleting a model in use', async () => {
    await rejectsWith(
      endpoints.update('shop', { traffic: { blue: 90, green: 20 } }),
      'INVALID_SPEC',
      /adds up to 110%/,
    );
    await rejectsWith(
      endpoints.update('shop', { traffic: { blue: 50, red: 50 } }),
      'INVALID_SPEC',
      /deployment "red"/,
    );
    await rejectsWith(
      endpoints.update('shop', { mirror: { blue: 10 } }),
      'INVALID_SPEC',
      /cannot also be the mirror/,
    );
    await rejectsWith(endpoints.update('shop', { mirror: { green: 60 } }), 'INVALID_SPEC', /from 0 to 50/);
    const mirrored = await endpoints.update('shop', { mirror: { green: 20 } });
    assert.deepEqual(mirrored.mirrorTraffic, { green: 20 });
    await rejectsWith(
      endpoints.deleteDeployment('shop', 'blue'),
      'CONFLICT',
      /still takes 100% of live traffic/,
    );
    await rejectsWith(endpoints.deleteDeployment('shop', 'green'), 'CONFLICT', /20% mirrored traffic/);
    const workspace = await Workspace.open({ dir: ws.dir });
    try {
      await rejectsWith(workspace.models.delete('linear:1'), 'IN_USE', /shop\/blue, shop\/green/);
    } finally {
      await workspace.close();
    }
    const canary = await endpoints.update('shop', { traffic: { blue: 90, green: 10 }, mirror: {} });
    assert.deepEqual(canary.traffic, { blue: 90, green: 10 });
    assert.deepEqual(canary.mirrorTraffic, {});
  });

  it('rotates keys: the other key keeps working, the replaced one is refused', async () => {
    const { scoringUri } = await endpoints.get('shop');
    const before = await endpoints.getCredentials('shop');
    assert.equal((await scoreWith(scoringUri, undefined)).status, 401);
    assert.equal((await scoreWith(scoringUri, before.secondaryKey)).status, 200);
    const after = await endpoints.regenerateKeys('shop', 'primary');
    assert.notEqual(after.primaryKey, before.primaryKey);
    assert.equal(after.secondaryKey, before.secondaryKey);
    assert.equal((await scoreWith(scoringUri, before.primaryKey)).status, 401);
    assert.equal((await scoreWith(scoringUri, after.primaryKey)).status, 200);
    assert.equal((await scoreWith(scoringUri, after.secondaryKey)).status, 200);
  });

  it('updates green to 2 instances with a rolling update and no failed request', async () => {
    const { scoringUri } = await endpoints.get('shop');
    const { primaryKey } = await endpoints.getCredentials('shop');
    const load = steadyLoad(() => scoreWith(scoringUri, primaryKey, 'green'), { clients: 1 });
    let answers: Answer[] = [];
    try {
      const updated = await endpoints.updateDeployment('shop', 'green', {
        set: ['instance_count=2', 'request_settings.request_timeout_ms=2000'],
      });
      assert.equal(updated.deployment.instanceCount, 2);
      assert.equal(updated.deployment.state, 'Healthy');
      assert.equal(updated.deployment.replicas.filter((r) => r.state === 'ready').length, 2);
      assert.equal(
        (updated.deployment.spec.request_settings as { request_timeout_ms: number }).request_timeout_ms,
        2000,
      );
    } finally {
      answers = await load.stop();
    }
    assert.ok(answers.length > 0);
    assert.deepEqual(failures(answers), [], `${answers.length} requests during the update`);
    await rejectsWith(
      endpoints.updateDeployment('shop', 'green', { set: ['instance_count=zero'] }),
      'INVALID_SPEC',
      /instance_count/,
    );
  });

  it("reads a deployment's logs", async () => {
    const lines = [];
    for await (const line of endpoints.deploymentLogs('shop', 'blue', { lines: 50 })) lines.push(line);
    assert.ok(lines.length > 0);
    assert.ok(lines.every((line) => typeof line.text === 'string' && line.replica.length > 0));
  });

  it('restores endpoints and deployments after a restart: same keys, same traffic, healthy again', async () => {
    const before = await endpoints.get('shop');
    const keys = await endpoints.getCredentials('shop');
    const oldReplicas = before.deployments.flatMap((d) => d.replicas.map((r) => r.url ?? ''));
    const workspace = await Workspace.open({ dir: ws.dir });
    try {
      const path = join(ws.root, 'linear.onnx');
      assert.equal((await workspace.models.register({ name: 'linear', path })).version, 2);
    } finally {
      await workspace.close();
    }
    assert.equal(await stopServer(ws.dir), true);
    for (const url of oldReplicas) {
      await assert.rejects(fetch(`${url}/`), 'replicas stop with the server');
    }

    const restarted = new EndpointOperations({ workspaceDir: ws.dir });
    const healthy = await waitFor('both deployments healthy', async () => {
      const view = await restarted.get('shop');
      return view.deployments.every((d) => d.state === 'Healthy') ? view : undefined;
    });
    assert.deepEqual(healthy.traffic, before.traffic);
    assert.deepEqual(await restarted.getCredentials('shop'), keys);
    assert.equal(healthy.scoringUri, before.scoringUri, 'the gateway port is kept');
    assert.equal(healthy.deployments.find((d) => d.name === 'green')?.instanceCount, 2);
    assert.equal(
      healthy.deployments.find((d) => d.name === 'green')?.model,
      'linear:1',
      'the version resolved at create',
    );
    const answer = await restarted.invoke('shop', { body: linearRequest });
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body), [[4.75]]);
    endpoints = restarted;
  });

  it('deletes a deployment once it takes no traffic, then the endpoint with the rest', async () => {
    await endpoints.update('shop', { traffic: { blue: 100 } });
    await endpoints.deleteDeployment('shop', 'green');
    assert.deepEqual(
      (await endpoints.listDeployments('shop')).map((d) => d.name),
      ['blue'],
    );
    await endpoints.delete('shop');
    await rejectsWith(endpoints.get('shop'), 'NOT_FOUND', /endpoint shop not found/);
    const workspace = await Workspace.open({ dir: ws.dir });
    try {
      assert.equal(
        (await workspace.models.delete('linear:1')).version,
        1,
        'no deployment uses the model any more',
      );
    } finally {
      await workspace.close();
    }
  });
});
