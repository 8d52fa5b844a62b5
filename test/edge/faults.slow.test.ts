/**
 * Edge faults against a Mosquitto of the test's own (test/edge/broker.ts), so it can be stopped:
 * the broker stopped mid-run (the device keeps scoring, its twin catches up when the broker is
 * back); a device killed during a download resumes from the chunks in its cache (the broker no
 * longer holds the first half when it comes back); and an mqtts broker with a test CA.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { writeEdgeBundle } from '../../src/targets/edge/bundle.js';
import {
  createEdgeTarget,
  topicsFor,
  type DesiredState,
  type EdgeTarget,
  type Twin,
} from '../../src/targets/edge/index.js';
import { send } from '../helpers/http.js';
import { linearDeployment, tempDir, waitFor } from '../targets/helpers.js';
import { startOwnBroker, type OwnBroker } from './broker.js';
import { connectTest, Device, messageOn, request, uniquePrefix } from './device.js';

const rows = [[1, 2, 3]];
const group = 'line-b';

async function twinOf(url: string): Promise<Twin> {
  const answer = await send(`${url}/edge/twin`, { method: 'GET' });
  return JSON.parse(answer.body) as Twin;
}

/** The retained twin of `device` on the broker, as a fresh subscriber gets it. */
describe('edge faults', { concurrency: 1, timeout: 900_000 }, () => {
  const dir = tempDir('edge-faults');
  const prefix = uniquePrefix();
  const topics = topicsFor(prefix);
  const devices: Device[] = [];
  const brokers: OwnBroker[] = [];
  const clients: MqttClient[] = [];
  let broker: OwnBroker;
  let target: EdgeTarget;
  let device: Device;
  let version = 0;

  const startDevice = (extra: Partial<ConstructorParameters<typeof Device>[0]> = {}): Device => {
    const started = new Device({
      deviceId: 'press-7',
      cache: join(dir.path, 'cache'),
      prefix,
      group,
      broker: broker.url,
      ...extra,
    });
    devices.push(started);
    return started;
  };

  after(async () => {
    for (const started of devices) await started.stop();
    for (const client of clients) await client.endAsync();
    for (const own of brokers) await own.stop();
    dir.remove();
  });

  it('keeps scoring with the broker stopped; the twin catches up when it is back', async () => {
    broker = await startOwnBroker(join(dir.path, ''), { tls: false });
    brokers.push(broker);
    target = createEdgeTarget({
      kind: 'edge',
      broker: broker.url,
      deviceGroup: group,
      topicPrefix: prefix,
      workDir: join(dir.path, 'work'),
    });
    device = startDevice({ stallMs: 3000 });
    const url = await device.url();
    const handle = await target.deploy(linearDeployment(dir.path), () => undefined);
    version = handle.data.version as number;
    await device.event((event) => event.event === 'running' && event.version === version, 300_000, 'running');

    await broker.stop();
    const before = (await twinOf(url)).counters.scored;
    for (let n = 0; n < 3; n += 1) {
      const scored = await send(`${url}/score`, { body: { data: rows } });
      assert.equal(scored.status, 200, scored.body);
    }
    assert.equal((await twinOf(url)).counters.scored, before + 3);

    const connects = device.events.filter((event) => event.event === 'connected').length;
    await broker.start();
    await waitFor(
      () => device.events.filter((event) => event.event === 'connected').length > connects,
      60_000,
      'the device back on the broker',
    );
    const client = await connectTest(broker.url);
    clients.push(client);
    await messageOn<Twin>(
      client,
      topics.reported('press-7'),
      (twin) => twin.counters.scored >= before + 3,
      30_000,
      'the twin counted while offline, on the broker',
    );
  });

  it('a device killed during a download resumes from the chunks in its cache', async () => {
    const client = clients[0]!;
    // A second version, in small chunks: half of them on the broker, the rest withheld.
    const spec = linearDeployment(join(dir.path), { environmentVariables: { LINE: 'b' } });
    const bundle = await writeEdgeBundle(spec, join(dir.path, 'work2'), 64 * 1024);
    const { manifest } = bundle;
    const archive = await readFile(bundle.file);
    const chunk = (index: number) =>
      archive.subarray(index * manifest.chunkBytes, (index + 1) * manifest.chunkBytes);
    const half = Math.floor(manifest.chunks.length / 2);
    for (let index = 0; index < half; index += 1)
      await client.publishAsync(topics.chunk(manifest.sha256, index), chunk(index), { qos: 1, retain: true });
    const next: DesiredState = {
      schema: 1,
      version: version + 1,
      group,
      target: 'faults',
      publishedAt: new Date().toISOString(),
      deployment: { endpoint: 'ep', deployment: 'blue', model: { name: 'linear', version: 1 } },
      bundle: manifest,
    };
    await client.publishAsync(topics.desired(group), JSON.stringify(next), { qos: 1, retain: true });
    const url = await device.url();
    await waitFor(
      async () => /no chunk came/.test((await twinOf(url)).lastError ?? ''),
      120_000,
      'the fetch to stall',
    );
    await device.kill();
    const kept = await readdir(join(dir.path, 'cache', 'chunks', manifest.sha256));
    assert.equal(kept.length, half, 'the verified chunks stay in the cache');

    // The first half is gone from the broker: only the cache has it now.
    for (let index = 0; index < half; index += 1)
      await client.publishAsync(topics.chunk(manifest.sha256, index), Buffer.alloc(0), {
        qos: 1,
        retain: true,
      });
    for (let index = half; index < manifest.chunks.length; index += 1)
      await client.publishAsync(topics.chunk(manifest.sha256, index), chunk(index), { qos: 1, retain: true });
    device = startDevice();
    await device.event(
      (event) => event.event === 'running' && event.version === version + 1,
      300_000,
      'the new version',
    );
    const scored = await send(`${await device.url()}/score`, { body: { data: rows } });
    assert.equal(scored.status, 200, scored.body);
  });

  it('deploys over mqtts with a test CA, and refuses a broker it cannot verify', async () => {
    const tlsDir = join(dir.path, 'tls');
    await import('node:fs/promises').then((fs) => fs.mkdir(tlsDir, { recursive: true }));
    const tls = await startOwnBroker(tlsDir, { tls: true });
    brokers.push(tls);
    const untrusted = createEdgeTarget({
      kind: 'edge',
      broker: tls.url,
      deviceGroup: group,
      topicPrefix: prefix,
      workDir: join(dir.path, 'work3'),
    });
    await assert.rejects(
      untrusted.fleet(),
      (error: unknown) => (error as { code?: string }).code === 'NOT_READY',
    );
    const secure = createEdgeTarget({
      kind: 'edge',
      broker: tls.url,
      caFile: tls.caFile,
      deviceGroup: group,
      topicPrefix: prefix,
      workDir: join(dir.path, 'work3'),
    });
    const tlsDevice = new Device({
      deviceId: 'press-9',
      cache: join(dir.path, 'cache-tls'),
      prefix,
      group,
      broker: tls.url,
      caFile: tls.caFile,
    });
    devices.push(tlsDevice);
    await tlsDevice.url();
    const handle = await secure.deploy(linearDeployment(dir.path), () => undefined);
    await tlsDevice.event(
      (event) => event.event === 'running' && event.version === handle.data.version,
      300_000,
      'running over TLS',
    );
    await tlsDevice.event((event) => event.event === 'connected', 60_000, 'subscribed');
    const client = await connectTest(tls.url, tls.caFile);
    clients.push(client);
    const reply = await request(
      client,
      topics.input('press-9', 's'),
      topics.output('press-9', 's'),
      JSON.stringify({ data: rows }),
      60_000,
    );
    assert.equal(reply.status, '200', reply.payload);
  });
});
