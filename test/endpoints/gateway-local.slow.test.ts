/**
 * The gateway in front of the local target's real scoring servers: a rolling update and a traffic
 * shift, each under a steady load of 4 clients, with no failed request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type Gateway } from '../../src/endpoints/index.js';
import type { GatewayDeployment } from '../../src/endpoints/types.js';
import { createLocalTarget } from '../../src/targets/local/index.js';
import type { DeploymentHandle, ResolvedDeployment } from '../../src/targets/target.js';
import { echoScript, linearDeployment, noProgress, scriptDeployment, tempDir } from '../targets/helpers.js';
import { send, servedBy, type Answer } from './harness.js';

/** 4 clients looping until stopped; every answer is kept. */
function steadyLoad(url: string, body: unknown): { stop: () => Promise<Answer[]> } {
  let running = true;
  const answers: Answer[] = [];
  const clients = Array.from({ length: 4 }, async () => {
    while (running) answers.push(await send(url, { body }));
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(clients);
      return answers;
    },
  };
}

function failures(answers: Answer[]): string[] {
  return answers.filter((answer) => answer.status !== 200).map((answer) => `${answer.status} ${answer.body}`);
}

describe('gateway + local target', () => {
  const dir = tempDir('gateway-local');
  const target = createLocalTarget({ kind: 'local', logsDir: `${dir.path}/logs` });
  let gateway: Gateway;
  before(async () => {
    gateway = await startGateway();
  });
  after(async () => {
    await gateway.close();
    await target.close();
    dir.remove();
  });

  const gatewayDeployment = (
    spec: ResolvedDeployment,
    handle: () => DeploymentHandle,
  ): GatewayDeployment => ({
    name: spec.deploymentName,
    requestSettings: spec.requestSettings,
    instanceCount: spec.instanceCount,
    replicas: () => target.currentReplicas(handle()),
  });

  it('rolls an update with no failed request under load', async () => {
    const spec = linearDeployment(dir.path, {
      endpointName: 'roll',
      deploymentName: 'blue',
      instanceCount: 2,
    });
    let handle = await target.deploy(spec, noProgress);
    gateway.setEndpoint({
      name: 'roll',
      authMode: 'none',
      keys: undefined,
      traffic: { blue: 100 },
      mirror: {},
      deployments: [gatewayDeployment(spec, () => handle)],
    });
    const url = `${gateway.url}/endpoints/roll/score`;
    const first = await send(url, { body: { data: [[1, 2, 3]] } });
    assert.equal(first.status, 200);
    assert.deepEqual(JSON.parse(first.body), [[4.75]]);

    const load = steadyLoad(url, { data: [[1, 2, 3]] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = target.currentReplicas(handle).map((replica) => replica.url);
    handle = await target.update(handle, { ...spec, environmentVariables: { VERSION: '2' } }, noProgress);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const answers = await load.stop();
    assert.deepEqual(failures(answers), []);
    assert.ok(answers.length > 50, `only ${answers.length} requests`);
    const after = target.currentReplicas(handle).map((replica) => replica.url);
    assert.equal(after.length, 2);
    assert.ok(after.every((url) => !before.includes(url)));
    assert.equal(handle.data.generation, 2);
    assert.equal((await target.status(handle)).state, 'Healthy');

    // A real replica's 400 comes through with its message.
    const bad = await send(url, { body: { data: [[1, 2]] } });
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.body).message, /expected \[-1,3\]/);
    assert.equal(servedBy(bad), 'blue');
    await target.remove(handle);
  });

  it('shifts traffic from blue to green under load with no failed request', async () => {
    const blueSpec = scriptDeployment(dir.path, echoScript, {
      endpointName: 'shift',
      deploymentName: 'blue',
    });
    const greenSpec = scriptDeployment(dir.path, echoScript, {
      endpointName: 'shift',
      deploymentName: 'green',
    });
    const [blue, green] = await Promise.all([
      target.deploy(blueSpec, noProgress),
      target.deploy(greenSpec, noProgress),
    ]);
    const deployments = [gatewayDeployment(blueSpec, () => blue), gatewayDeployment(greenSpec, () => green)];
    const set = (traffic: Record<string, number>): void =>
      gateway.setEndpoint({
        name: 'shift',
        authMode: 'none',
        keys: undefined,
        traffic,
        mirror: {},
        deployments,
      });
    set({ blue: 100, green: 0 });
    const load = steadyLoad(`${gateway.url}/endpoints/shift/score`, { n: 1 });
    for (const traffic of [
      { blue: 90, green: 10 },
      { blue: 50, green: 50 },
      { blue: 0, green: 100 },
    ]) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      set(traffic);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
    const answers = await load.stop();
    assert.deepEqual(failures(answers), []);
    const served = answers.map((answer) => JSON.parse(answer.body).deployment as string);
    assert.ok(served.includes('blue') && served.includes('green'));
    assert.equal(served.at(-1), 'green');
    assert.deepEqual(
      served.map((name, index) => name === servedBy(answers[index]!)).filter((same) => !same),
      [],
    );
    await Promise.all([target.remove(blue), target.remove(green)]);
  });
});
