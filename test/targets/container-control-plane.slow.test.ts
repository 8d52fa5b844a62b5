/**
 * The control-plane flow of test/server/lifecycle.slow.test.ts against a named container target
 * (`berth target create dev-docker --type container`): the same deployment YAML with
 * `target: <name>`, scored through the same gateway with the same keys, updated with no failed
 * request, its logs read, removed with its containers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import { EndpointOperations } from '../../src/sdk/endpoints.js';
import { Workspace } from '../../src/sdk/workspace.js';
import {
  dockerOrSkip,
  ensureTestBaseImage,
  labelledContainers,
  removeTestContainers,
  testDockerHost,
} from '../fixtures/docker-base-image.js';
import { failures, steadyLoad, type Answer } from '../helpers/http.js';
import {
  linearDeployment,
  linearRequest,
  linearWorkspace,
  scoreWith,
  type TestWorkspace,
} from '../server/helpers.js';

const skip = await dockerOrSkip();

describe('endpoints on a named container target through the control plane', { skip }, () => {
  const name = `dev-docker-${process.pid}`;
  let ws: TestWorkspace;
  let endpoints: EndpointOperations;
  before(async () => {
    const baseImage = await ensureTestBaseImage();
    ws = await linearWorkspace('container-cp');
    const workspace = await Workspace.open({ dir: ws.dir });
    try {
      await workspace.targets.create({
        name,
        kind: 'container',
        settings: { dockerHost: testDockerHost(), baseImage },
      });
      await assert.rejects(
        workspace.targets.create({ name: 'container', kind: 'container', settings: {} }),
        (error) => hasErrorCode(error, 'BAD_INPUT'),
      );
      assert.deepEqual(
        (await workspace.targets.list()).map((target) => target.name),
        [name],
      );
    } finally {
      await workspace.close();
    }
    endpoints = new EndpointOperations({ workspaceDir: ws.dir });
  });
  after(async () => {
    await ws?.cleanup();
    await removeTestContainers(name);
  });

  it('deploys with target: NAME, scores through the gateway, updates with no failed request, removes', async () => {
    await endpoints.create({ file: await ws.yaml('endpoint', 'name: shop\nauth_mode: key\n') });
    const blue = await endpoints.createDeployment({
      file: await ws.yaml('blue', linearDeployment('blue', 'shop', `target: ${name}\n`)),
      allTraffic: true,
    });
    assert.equal(blue.deployment.state, 'Healthy', JSON.stringify(blue.deployment));
    assert.equal(blue.deployment.target, name);
    const answer = await endpoints.invoke('shop', { body: linearRequest });
    assert.equal(answer.status, 200, answer.body);
    assert.deepEqual(JSON.parse(answer.body), [[4.75]]);

    const { scoringUri } = await endpoints.get('shop');
    const { primaryKey } = await endpoints.getCredentials('shop');
    assert.equal((await scoreWith(scoringUri, undefined)).status, 401);
    const load = steadyLoad(() => scoreWith(scoringUri, primaryKey), { clients: 1 });
    let answers: Answer[] = [];
    try {
      const updated = await endpoints.updateDeployment('shop', 'blue', { set: ['instance_count=2'] });
      assert.equal(updated.deployment.state, 'Healthy');
      assert.equal(updated.deployment.replicas.filter((r) => r.state === 'ready').length, 2);
    } finally {
      answers = await load.stop();
    }
    assert.ok(answers.length > 0);
    assert.deepEqual(failures(answers), []);

    const lines = [];
    for await (const line of endpoints.deploymentLogs('shop', 'blue', { lines: 50 })) lines.push(line);
    assert.ok(lines.some((line) => line.text.includes('"route":"/score"')));
    assert.ok(
      lines.every((line) => line.replica.startsWith('blue-2-')),
      'the new containers',
    );

    await endpoints.update('shop', { traffic: {} });
    await endpoints.deleteDeployment('shop', 'blue');
    assert.deepEqual(await labelledContainers(name), []);
    await endpoints.delete('shop');
  });
});
