/**
 * The gateway in front of the local target's real scoring servers: a traffic shift under a steady
 * load of 4 clients, with no failed request. (A rolling update under load is the targets'
 * conformance suite, and through the gateway the control-plane lifecycle test.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type Gateway } from '../../src/endpoints/index.js';
import type { GatewayDeployment } from '../../src/endpoints/types.js';
import { createLocalTarget } from '../../src/targets/local/index.js';
import type { DeploymentHandle, ResolvedDeployment } from '../../src/targets/target.js';
import { failures, send, sleep, steadyLoad } from '../helpers/http.js';
import { echoScript, noProgress, scriptDeployment, tempDir } from '../targets/helpers.js';
import { servedBy } from './harness.js';

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
    const url = `${gateway.url}/endpoints/shift/score`;
    const load = steadyLoad(() => send(url, { body: { n: 1 } }));
    for (const traffic of [
      { blue: 90, green: 10 },
      { blue: 50, green: 50 },
      { blue: 0, green: 100 },
    ]) {
      await sleep(250);
      set(traffic);
    }
    await sleep(250);
    const answers = await load.stop();
    assert.deepEqual(failures(answers), []);
    const served = answers.map((answer) => JSON.parse(answer.body).deployment as string);
    assert.ok(served.includes('blue') && served.includes('green'));
    assert.equal(served.at(-1), 'green');
    assert.deepEqual(
      served.map((name, index) => name === servedBy(answers[index]!)).filter((same) => !same),
      [],
    );
    // A real replica's error comes through the gateway with its message.
    const failed = await send(url, { body: { fail: 'bad row' } });
    assert.equal(failed.status, 500, failed.body);
    assert.match(JSON.parse(failed.body).message, /boom: bad row/);
    assert.equal(servedBy(failed), 'green');
    await Promise.all([target.remove(blue), target.remove(green)]);
  });
});
