/**
 * The gateway's part of scale-to-zero, over real loopback sockets with fake replicas: a request
 * for a deployment with no ready replica is held while the deployment starts one, then answered;
 * past the hold it gets 503 with Retry-After; a deployment that does not scale to zero gets 503
 * at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type Gateway } from '../../src/endpoints/index.js';
import { fakeDeployment, send, servedBy, startFakeReplica, type FakeReplica } from '../endpoints/harness.js';

describe('gateway hold for a deployment scaled to zero', () => {
  let gateway: Gateway;
  const replicas: FakeReplica[] = [];
  before(async () => {
    gateway = await startGateway({ coldStartHoldMs: 2000 });
  });
  after(async () => {
    await gateway.close();
    await Promise.all(replicas.map((replica) => replica.close()));
  });

  function endpoint(name: string, awaitReplica: ((timeoutMs: number) => Promise<boolean>) | undefined) {
    const serving: FakeReplica[] = [];
    const deployment = {
      ...fakeDeployment([{ name: 'blue' } as FakeReplica]),
      replicas: () => serving.map((r) => r.status()),
    };
    gateway.setEndpoint({
      name,
      authMode: 'none',
      keys: undefined,
      traffic: { blue: 100 },
      mirror: {},
      deployments: [awaitReplica === undefined ? deployment : { ...deployment, awaitReplica }],
    });
    return { serving, url: `${gateway.url}/endpoints/${name}/score` };
  }

  it('holds the requests while a replica starts, then answers them', async () => {
    let asked = 0;
    let bound = 0;
    const { serving, url } = endpoint('wake', async (timeoutMs) => {
      asked += 1;
      bound = timeoutMs;
      if (serving.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const replica = await startFakeReplica('blue');
        replicas.push(replica);
        if (serving.length === 0) serving.push(replica);
      }
      return true;
    });
    const answers = await Promise.all([1, 2, 3].map((n) => send(url, { body: { n } })));
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [200, 200, 200],
    );
    assert.ok(answers.every((answer) => servedBy(answer) === 'blue'));
    assert.equal(asked, 3);
    assert.equal(bound, 2000);
    // With a replica ready, a request is not held.
    assert.equal((await send(url, { body: {} })).status, 200);
    assert.equal(asked, 3);
  });

  it('answers 503 with Retry-After when no replica is ready within the hold', async () => {
    const { url } = endpoint('slow', async () => false);
    const answer = await send(url, { body: {} });
    assert.equal(answer.status, 503);
    assert.equal(answer.headers['retry-after'], '1');
    assert.equal(answer.headers['berth-error-code'], 'NOT_READY');
    assert.match(answer.body, /no replica ready after 2000 ms/);
  });

  it('answers 503 at once for a deployment that does not scale to zero', async () => {
    const { url } = endpoint('fixed', undefined);
    const answer = await send(url, { body: {} });
    assert.equal(answer.status, 503);
    assert.doesNotMatch(answer.body, /after 2000 ms/);
  });
});
