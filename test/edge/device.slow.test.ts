/**
 * The edge target against the real Mosquitto, with devices as separate `berth edge agent`
 * processes, each with its own cache folder: a deploy reaches the device, which serves /score and
 * answers MQTT in → out with the same result; the target's status and `berth edge status` show
 * it; restarted pointing at a dead broker, the device serves from its cache; a corrupt or
 * truncated bundle, and a version whose server cannot start, are refused and the running version
 * kept; remove leaves the device idle.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import type { MqttClient } from 'mqtt';
import { freeLoopbackPort } from '../../src/core/free-port.js';
import {
  createEdgeTarget,
  topicsFor,
  type DesiredState,
  type EdgeTarget,
  type Twin,
} from '../../src/targets/edge/index.js';
import type { DeploymentHandle } from '../../src/targets/target.js';
import { runBerth } from '../helpers/cli.js';
import { send } from '../helpers/http.js';
import { linearDeployment, noProgress, scriptDeployment, tempDir, waitFor } from '../targets/helpers.js';
import {
  broker,
  clearPrefix,
  connectTest,
  Device,
  messageOn,
  request,
  stepsInOrder,
  uniquePrefix,
} from './device.js';

const rows = [
  [1, 2, 3],
  [-2, 0.5, 1],
];
const body = JSON.stringify({ data: rows });

async function twinOf(url: string): Promise<Twin> {
  const answer = await send(`${url}/edge/twin`, { method: 'GET' });
  assert.equal(answer.status, 200, answer.body);
  return JSON.parse(answer.body) as Twin;
}

describe('edge target and devices', { concurrency: 1, timeout: 900_000 }, () => {
  const dir = tempDir('edge');
  const prefix = uniquePrefix();
  const group = 'line-a';
  const topics = topicsFor(prefix);
  const devices: Device[] = [];
  let target: EdgeTarget;
  let handle: DeploymentHandle;
  let client: MqttClient;
  let device: Device;
  let expected: unknown;
  // Each step builds on the deployment and device of the ones before.
  const step = stepsInOrder();

  const startDevice = (id: string, extra: Partial<ConstructorParameters<typeof Device>[0]> = {}): Device => {
    const started = new Device({
      deviceId: id,
      cache: join(dir.path, `cache-${id}`),
      prefix,
      group,
      ...extra,
    });
    devices.push(started);
    return started;
  };

  after(async () => {
    for (const started of devices) await started.stop();
    await client?.endAsync();
    await clearPrefix(prefix);
    dir.remove();
  });

  step(
    'deploys to a device group; the device serves /score and MQTT in → out with the same result',
    async () => {
      client = await connectTest();
      target = createEdgeTarget({
        kind: 'edge',
        name: 'plant-7',
        broker,
        deviceGroup: group,
        topicPrefix: prefix,
        workDir: join(dir.path, 'work'),
      });
      device = startDevice('press-12');
      const url = await device.url();
      // Nothing desired yet: the local API says so.
      assert.equal((await send(`${url}/score`, { body: { data: rows } })).status, 503);

      const messages: string[] = [];
      handle = await target.deploy(linearDeployment(dir.path), (line) => messages.push(line));
      assert.equal(handle.data.version, 1);
      assert.ok(
        messages.some((line) => line.includes('desired version 1 published')),
        messages.join('\n'),
      );
      await device.event(
        (event) => event.event === 'running' && event.version === 1,
        300_000,
        'version 1 running',
      );

      const scored = await send(`${url}/score`, { body: { data: rows } });
      assert.equal(scored.status, 200, scored.body);
      expected = JSON.parse(scored.body);
      const reply = await request(
        client,
        topics.input('press-12', 'line-1'),
        topics.output('press-12', 'line-1'),
        body,
        60_000,
      );
      assert.equal(reply.status, '200', reply.payload);
      assert.deepEqual(JSON.parse(reply.payload), expected);

      await waitFor(
        async () => (await twinOf(url)).counters.scored >= 1,
        30_000,
        'the twin counts the MQTT request',
      );
      // The status is read from the retained twin: once it says version 1 runs, the status is Healthy.
      await messageOn<Twin>(
        client,
        topics.reported('press-12'),
        (twin) => twin.state === 'running' && twin.runningVersion === 1,
        60_000,
        'press-12 reporting version 1 running',
      );
      const status = await target.status(handle);
      assert.equal(status.state, 'Healthy', status.reason);
      assert.deepEqual(
        status.replicas.map((replica) => [replica.id, replica.state]),
        [['press-12', 'ready']],
      );
    },
  );

  step('berth edge status shows the device, desired and running version, model and link', async () => {
    const workspace = join(dir.path, 'workspace');
    assert.equal((await runBerth(['init'], { workspace })).code, 0);
    const created = await runBerth(
      [
        'target',
        'create',
        'plant-7',
        '--type',
        'edge',
        '--broker',
        broker,
        '--device-group',
        group,
        '--topic-prefix',
        prefix,
      ],
      { workspace },
    );
    assert.equal(created.code, 0, created.stderr);
    const shown = await runBerth(['edge', 'status', 'plant-7', '--json'], { workspace });
    assert.equal(shown.code, 0, shown.stderr);
    const view = JSON.parse(shown.stdout) as {
      desired: DesiredState;
      devices: { device: string; online: boolean; twin: Twin }[];
    };
    assert.equal(view.desired.version, 1);
    const [row] = view.devices;
    assert.equal(row?.device, 'press-12');
    assert.equal(row.online, true);
    assert.equal(row.twin.runningVersion, 1);
    assert.deepEqual(row.twin.deployment?.model, { name: 'linear', version: 1 });
    const table = await runBerth(['edge', 'status', 'plant-7'], { workspace });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /press-12\s+running\s+1\s+1\s+linear:1\s+online/);
    const help = await runBerth(['edge', 'agent', '--help'], { workspace });
    assert.match(help.stdout, /--device-id/);
  });

  step('restarted with the broker unreachable, the device serves from its cache', async () => {
    await device.stop();
    const deadBroker = `mqtt://127.0.0.1:${await freeLoopbackPort()}`;
    device = startDevice('press-12', { broker: deadBroker });
    const url = await device.url();
    await device.event(
      (event) => event.event === 'running' && event.version === 1,
      120_000,
      'version 1 from the cache',
    );
    const scored = await send(`${url}/score`, { body: { data: rows } });
    assert.equal(scored.status, 200, scored.body);
    assert.deepEqual(JSON.parse(scored.body), expected);
    await device.stop();
    // Back on the broker: the twin it held while offline goes out.
    device = startDevice('press-12');
    await device.event(
      (event) => event.event === 'running' && event.version === 1,
      120_000,
      'version 1 again',
    );
  });

  step(
    'refuses a truncated chunk and a bundle that is not one, and keeps serving the running version',
    async () => {
      const url = await device.url();
      const publishBad = async (version: number, data: Buffer, chunkSha: string): Promise<void> => {
        const sha256 = createHash('sha256').update(data).digest('hex');
        await client.publishAsync(topics.chunk(sha256, 0), data, { qos: 1, retain: true });
        const desired: DesiredState = {
          schema: 1,
          version,
          group,
          target: 'plant-7',
          publishedAt: new Date().toISOString(),
          deployment: { endpoint: 'ep', deployment: 'blue', model: { name: 'linear', version: 2 } },
          bundle: { sha256, sizeBytes: data.length, chunkBytes: data.length, chunks: [chunkSha] },
        };
        await client.publishAsync(topics.desired(group), JSON.stringify(desired), { qos: 1, retain: true });
      };
      const whole = Buffer.from('x'.repeat(5000));
      // The manifest lists the whole chunk's sha256; the broker holds it cut short.
      const truncated = whole.subarray(0, 1000);
      const wholeSha = createHash('sha256').update(whole).digest('hex');
      await publishBad(2, truncated, wholeSha);
      const refused = await device.event(
        (event) => event.event === 'refused' && event.version === 2,
        60_000,
        'refusal of version 2',
      );
      assert.match(String(refused.reason), /does not match its sha256/);
      // Every hash matches, but the bytes are no bundle.
      const junk = Buffer.from('not a gzip stream at all');
      await publishBad(3, junk, createHash('sha256').update(junk).digest('hex'));
      const second = await device.event(
        (event) => event.event === 'refused' && event.version === 3,
        60_000,
        'refusal of version 3',
      );
      assert.match(String(second.reason), /not a gzip stream/);

      const scored = await send(`${url}/score`, { body: { data: rows } });
      assert.equal(scored.status, 200, scored.body);
      assert.deepEqual(JSON.parse(scored.body), expected);
      const twin = await twinOf(url);
      assert.equal(twin.runningVersion, 1);
      assert.equal(twin.desiredVersion, 3);
      assert.ok(twin.counters.refusedBundles >= 2);
      assert.match(twin.lastError ?? '', /version 3: .*still running version 1/);
    },
  );

  step('a version whose server cannot start is reported and the running version kept', async () => {
    const url = await device.url();
    const broken = scriptDeployment(
      dir.path,
      'export async function init() { throw new Error("no sensor calibration"); }\nexport async function run() { return 1; }',
    );
    const next = await target.update(handle, broken, noProgress);
    const version = next.data.version as number;
    assert.equal(version, 4);
    const failed = await device.event(
      (event) => event.event === 'failed-start' && event.version === version,
      300_000,
      'failed start',
    );
    assert.match(String(failed.reason), /no sensor calibration/);
    const scored = await send(`${url}/score`, { body: { data: rows } });
    assert.equal(scored.status, 200, scored.body);
    assert.deepEqual(JSON.parse(scored.body), expected);
    await messageOn<Twin>(
      client,
      topics.reported('press-12'),
      (twin) => twin.failedVersion === version,
      60_000,
      'the failed start reported',
    );
    const status = await target.status(next);
    assert.equal(status.state, 'Unhealthy');
    assert.match(status.reason ?? '', /no sensor calibration/);
    handle = next;
  });

  step('remove publishes "run nothing": the device stops serving', async () => {
    const url = await device.url();
    await target.remove(handle);
    await device.event((event) => event.event === 'idle', 60_000, 'idle');
    assert.equal((await send(`${url}/score`, { body: { data: rows } })).status, 503);
  });
});
