/**
 * The gateway over real loopback sockets, in front of fake replicas whose behaviour each test sets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import { startGateway, type Gateway } from '../../src/endpoints/index.js';
import { waitFor } from '../targets/helpers.js';
import { fakeDeployment, send, sendMany, servedBy, startFakeReplica, type FakeReplica } from './harness.js';

const open = { authMode: 'none' as const, keys: undefined, mirror: {} };

describe('endpoint gateway', () => {
  let gateway: Gateway;
  const replicas: FakeReplica[] = [];
  const replica = async (name: string): Promise<FakeReplica> => {
    const started = await startFakeReplica(name);
    replicas.push(started);
    return started;
  };
  before(async () => {
    gateway = await startGateway();
  });
  after(async () => {
    await gateway.close();
    await Promise.all(replicas.map((one) => one.close()));
  });

  it('splits traffic by weight (90/10 over 1000 requests, within 4 standard deviations)', async () => {
    const [blue, green] = [await replica('blue'), await replica('green')];
    gateway.setEndpoint({
      ...open,
      name: 'split',
      traffic: { blue: 90, green: 10 },
      deployments: [fakeDeployment([blue]), fakeDeployment([green])],
    });
    const answers = await sendMany(1000, 16, () =>
      send(`${gateway.url}/endpoints/split/score`, { body: { x: 1 } }),
    );
    assert.ok(answers.every((answer) => answer.status === 200));
    const toGreen = answers.filter((answer) => servedBy(answer) === 'green').length;
    // Binomial(1000, 0.1): mean 100, standard deviation ~9.5.
    assert.ok(Math.abs(toGreen - 100) <= 38, `green served ${toGreen} of 1000`);
    assert.equal(answers[0]!.headers['azureml-model-deployment'], servedBy(answers[0]!));
    assert.equal(JSON.parse(answers[0]!.body).path, '/score');
  });

  it('sends a request naming a deployment there, even at 0% traffic, and refuses unknown names', async () => {
    const [blue, green] = [await replica('blue'), await replica('green')];
    gateway.setEndpoint({
      ...open,
      name: 'named',
      traffic: { blue: 100, green: 0 },
      deployments: [fakeDeployment([blue]), fakeDeployment([green])],
    });
    const byBerth = await send(`${gateway.url}/endpoints/named/score`, {
      body: {},
      headers: { 'berth-deployment': 'green' },
    });
    assert.equal(servedBy(byBerth), 'green');
    const byAzure = await send(`${gateway.url}/endpoints/named/score`, {
      body: {},
      headers: { 'azureml-model-deployment': 'green' },
    });
    assert.equal(servedBy(byAzure), 'green');
    const unknown = await send(`${gateway.url}/endpoints/named/score`, {
      body: {},
      headers: { 'berth-deployment': 'red' },
    });
    assert.equal(unknown.status, 404);
    assert.match(JSON.parse(unknown.body).message, /no deployment "red".*blue, green/);
    const v2 = await send(`${gateway.url}/endpoints/named/v2/models/linear/infer?trace=1`, { body: {} });
    assert.equal(JSON.parse(v2.body).path, '/v2/models/linear/infer?trace=1');
    const swagger = await send(`${gateway.url}/endpoints/named/swagger.json`);
    assert.equal(JSON.parse(swagger.body).path, '/swagger.json');
    const missing = await send(`${gateway.url}/endpoints/nope/score`, { body: {} });
    assert.equal(missing.status, 404);
    const badRoute = await send(`${gateway.url}/elsewhere`);
    assert.equal(badRoute.status, 404);
    assert.match(JSON.parse(badRoute.body).message, /the gateway serves/);
  });

  it('mirrors a share to a deployment with no live traffic, never touching live answers', async () => {
    const [blue, shadow] = [await replica('blue'), await replica('shadow')];
    gateway.setEndpoint({
      ...open,
      name: 'mirror',
      traffic: { blue: 100, shadow: 0 },
      mirror: { shadow: 20 },
      deployments: [fakeDeployment([blue]), fakeDeployment([shadow], { requestTimeoutMs: 3000 })],
    });
    const answers = await sendMany(500, 10, () =>
      send(`${gateway.url}/endpoints/mirror/score`, { body: { x: 1 } }),
    );
    assert.ok(answers.every((answer) => answer.status === 200 && servedBy(answer) === 'blue'));
    // Copies leave after the live answer: wait until every copy the gateway sent has arrived.
    await waitFor(
      () => gateway.statistics('mirror').shadow!.mirrored === shadow.mirrored,
      10_000,
      'the mirrored copies to arrive',
    );
    // Binomial(500, 0.2): mean 100, standard deviation ~8.9.
    assert.ok(Math.abs(shadow.mirrored - 100) <= 36, `shadow got ${shadow.mirrored} copies`);
    assert.equal(shadow.received, shadow.mirrored);
    assert.equal(gateway.statistics('mirror').shadow!.mirrored, shadow.mirrored);

    // A slow mirror: live answers stay fast.
    shadow.behaviour.delayMs = 2000;
    const slow = await sendMany(100, 10, () =>
      send(`${gateway.url}/endpoints/mirror/score`, { body: { x: 1 } }),
    );
    assert.ok(
      slow.every((answer) => answer.status === 200 && answer.ms < 1000),
      `slowest ${Math.max(...slow.map((a) => a.ms))} ms`,
    );
    // A failing mirror (errors and reset connections): live answers unchanged.
    shadow.behaviour.delayMs = 0;
    shadow.behaviour.status = 500;
    shadow.behaviour.message = 'mirror broke';
    const failing = await sendMany(100, 10, () =>
      send(`${gateway.url}/endpoints/mirror/score`, { body: { x: 1 } }),
    );
    assert.ok(failing.every((answer) => answer.status === 200 && servedBy(answer) === 'blue'));
    shadow.behaviour.reset = true;
    const reset = await sendMany(100, 10, () =>
      send(`${gateway.url}/endpoints/mirror/score`, { body: { x: 1 } }),
    );
    assert.ok(reset.every((answer) => answer.status === 200 && servedBy(answer) === 'blue'));
    assert.ok(gateway.statistics('mirror').shadow!.mirrorFailed > 0);

    // Requests naming a deployment are not mirrored.
    shadow.behaviour.reset = false;
    await new Promise((resolve) => setTimeout(resolve, 2200));
    const before = shadow.received;
    await sendMany(100, 10, () =>
      send(`${gateway.url}/endpoints/mirror/score`, { body: {}, headers: { 'berth-deployment': 'blue' } }),
    );
    assert.equal(shadow.received, before);
  });

  it('answers 429 at once past 2 × max_concurrent × instances', async () => {
    const busy = await replica('busy');
    busy.behaviour.delayMs = 600;
    gateway.setEndpoint({
      ...open,
      name: 'admit',
      traffic: { busy: 100 },
      deployments: [fakeDeployment([busy], { maxConcurrentRequestsPerInstance: 2 })],
    });
    const answers = await Promise.all(
      Array.from({ length: 7 }, () => send(`${gateway.url}/endpoints/admit/score`, { body: {} })),
    );
    const refused = answers.filter((answer) => answer.status === 429);
    assert.equal(answers.filter((answer) => answer.status === 200).length, 4);
    assert.equal(refused.length, 3);
    for (const answer of refused) {
      assert.ok(answer.ms < 300, `429 took ${answer.ms} ms`);
      assert.match(
        JSON.parse(answer.body).message,
        /limit \(2 × max_concurrent_requests_per_instance 2 × instance_count 1\)/,
      );
      assert.equal(answer.headers['retry-after'], '1');
    }
    assert.equal(gateway.statistics('admit').busy!.rejected, 3);
  });

  it('answers 408 past request_timeout_ms, and passes a replica error through with its message', async () => {
    const slow = await replica('slow');
    slow.behaviour.delayMs = 1500;
    gateway.setEndpoint({
      ...open,
      name: 'timeouts',
      traffic: { slow: 100 },
      deployments: [fakeDeployment([slow], { requestTimeoutMs: 200 })],
    });
    const timedOut = await send(`${gateway.url}/endpoints/timeouts/score`, { body: {} });
    assert.equal(timedOut.status, 408);
    assert.match(JSON.parse(timedOut.body).message, /timed out after 200 ms/);
    assert.ok(timedOut.ms < 1000);

    const picky = await replica('picky');
    gateway.setEndpoint({
      ...open,
      name: 'errors',
      traffic: { picky: 100 },
      deployments: [fakeDeployment([picky])],
    });
    for (const status of [400, 422, 500, 503]) {
      picky.behaviour.status = status;
      picky.behaviour.message = `replica says ${status}`;
      const answer = await send(`${gateway.url}/endpoints/errors/score`, { body: {} });
      assert.equal(answer.status, status);
      assert.equal(JSON.parse(answer.body).message, `replica says ${status}`);
      assert.equal(servedBy(answer), 'picky');
    }
  });

  it('answers 503 saying why when no replica is ready, and 502 with the reason when replicas are gone', async () => {
    gateway.setEndpoint({
      ...open,
      name: 'empty',
      traffic: { cold: 100 },
      deployments: [
        {
          name: 'cold',
          requestSettings: { maxConcurrentRequestsPerInstance: 1, requestTimeoutMs: 1000 },
          instanceCount: 1,
          replicas: () => [
            {
              id: 'cold-1-0',
              url: undefined,
              state: 'starting',
              restarts: 2,
              reason: 'the process exited with code 1',
            },
          ],
        },
      ],
    });
    const unavailable = await send(`${gateway.url}/endpoints/empty/score`, { body: {} });
    assert.equal(unavailable.status, 503);
    assert.match(
      JSON.parse(unavailable.body).message,
      /no ready replica \(0 of 1 ready\): cold-1-0 starting \(the process exited with code 1\)/,
    );

    const gone = await replica('gone');
    await gone.close();
    gateway.setEndpoint({
      ...open,
      name: 'gone',
      traffic: { gone: 100 },
      deployments: [fakeDeployment([gone])],
    });
    const failed = await send(`${gateway.url}/endpoints/gone/score`, { body: {} });
    assert.equal(failed.status, 502);
    assert.match(
      JSON.parse(failed.body).message,
      /replica gone-0 of deployment "gone" failed before answering: .*ECONNREFUSED/,
    );
  });

  it('retries a request on another replica when one refuses connections', async () => {
    const [alive, dead] = [await replica('pair'), await replica('pair')];
    await dead.close();
    gateway.setEndpoint({
      ...open,
      name: 'retry',
      traffic: { pair: 100 },
      deployments: [fakeDeployment([alive, dead])],
    });
    const answers = await sendMany(50, 5, () =>
      send(`${gateway.url}/endpoints/retry/score`, { body: { x: 1 } }),
    );
    assert.deepEqual([...new Set(answers.map((answer) => answer.status))], [200]);
    assert.equal(alive.received, 50);
  });

  it('streams a large body to the replica', async () => {
    const sink = await replica('sink');
    gateway.setEndpoint({
      ...open,
      name: 'stream',
      traffic: { sink: 100 },
      deployments: [fakeDeployment([sink])],
    });
    const raw = Buffer.alloc(8 * 1024 * 1024, 7);
    const answer = await send(`${gateway.url}/endpoints/stream/score`, {
      raw,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(answer.status, 200);
    assert.equal(JSON.parse(answer.body).bytes, raw.length);
  });

  it('checks keys: primary and secondary, rotation, 401 otherwise, and none only when chosen', async () => {
    const secure = await replica('secure');
    const deployments = [fakeDeployment([secure])];
    const endpoint = {
      name: 'keys',
      authMode: 'key' as const,
      traffic: { secure: 100 },
      mirror: {},
      deployments,
    };
    gateway.setEndpoint({ ...endpoint, keys: { primary: 'primary-key-1', secondary: 'secondary-key-1' } });
    const url = `${gateway.url}/endpoints/keys/score`;
    const statusWith = async (key: string | undefined): Promise<number> =>
      (await send(url, { body: {}, headers: key === undefined ? {} : { authorization: `Bearer ${key}` } }))
        .status;
    assert.equal(await statusWith('primary-key-1'), 200);
    assert.equal(await statusWith('secondary-key-1'), 200);
    assert.equal(await statusWith('primary-key-2'), 401);
    assert.equal(await statusWith(undefined), 401);
    const refused = await send(url, { body: {} });
    assert.equal(refused.headers['www-authenticate'], 'Bearer');
    assert.match(JSON.parse(refused.body).message, /Authorization: Bearer/);
    const basic = await send(url, { body: {}, headers: { authorization: 'Basic cHJpbWFyeS1rZXktMQ==' } });
    assert.equal(basic.status, 401);
    // The key never reaches the replica.
    assert.equal(
      JSON.parse((await send(url, { body: {}, headers: { authorization: 'Bearer primary-key-1' } })).body)
        .authorization,
      null,
    );

    // Rotation: clients move to the secondary, the primary is regenerated.
    gateway.setEndpoint({ ...endpoint, keys: { primary: 'primary-key-2', secondary: 'secondary-key-1' } });
    assert.equal(await statusWith('primary-key-1'), 401);
    assert.equal(await statusWith('secondary-key-1'), 200);
    assert.equal(await statusWith('primary-key-2'), 200);

    assert.throws(
      () => gateway.setEndpoint({ ...endpoint, keys: undefined }),
      (error) => hasErrorCode(error, 'INVALID_SPEC'),
    );
    gateway.setEndpoint({ ...endpoint, authMode: 'none', keys: undefined });
    assert.equal(await statusWith(undefined), 200);
  });

  it('refuses invalid traffic at setEndpoint and keeps the previous state', async () => {
    const [a, b] = [await replica('a'), await replica('b')];
    const deployments = [fakeDeployment([a]), fakeDeployment([b])];
    gateway.setEndpoint({ ...open, name: 'valid', traffic: { a: 100 }, deployments });
    assert.throws(
      () => gateway.setEndpoint({ ...open, name: 'valid', traffic: { a: 60, b: 30 }, deployments }),
      (error: Error) => hasErrorCode(error, 'INVALID_SPEC') && /adds up to 90%/.test(error.message),
    );
    assert.throws(
      () =>
        gateway.setEndpoint({ ...open, name: 'valid', traffic: { a: 100 }, mirror: { a: 10 }, deployments }),
      (error: Error) => /takes 100% of live traffic and cannot also be the mirror/.test(error.message),
    );
    const answer = await send(`${gateway.url}/endpoints/valid/score`, { body: {} });
    assert.equal(servedBy(answer), 'a');

    gateway.setEndpoint({ ...open, name: 'valid', traffic: { a: 0, b: 0 }, deployments });
    const nowhere = await send(`${gateway.url}/endpoints/valid/score`, { body: {} });
    assert.equal(nowhere.status, 503);
    assert.match(JSON.parse(nowhere.body).message, /traffic is 0%/);
    assert.equal(gateway.removeEndpoint('valid'), true);
    assert.equal((await send(`${gateway.url}/endpoints/valid/score`, { body: {} })).status, 404);
  });
});
