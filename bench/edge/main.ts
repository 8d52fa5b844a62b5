/**
 * Edge devices against the real broker (BERTH_TEST_MQTT, default mqtt://127.0.0.1:1883): the
 * bundle's size and the time to build and publish it; a device's cold start to its first MQTT
 * result, with an empty cache (fetch + verify + unpack + server start) and from its cache (a
 * restart); then MQTT in → out latency through the device (sequential, one at a time) against a
 * bare MQTT echo client on the same broker in the same run (the broker's two hops alone), and the
 * device's local HTTP /score for reference, at QoS 0 and QoS 1. The linear model, one row per
 * request. At QoS 1 both paths pay the broker's acknowledgements; Mosquitto's default
 * (`set_tcp_nodelay false`) adds tens of milliseconds to each on loopback, for echo and device alike.
 *
 *   npm run bench:edge [-- --requests 300]
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { createEdgeTarget, topicsFor } from '../../src/targets/edge/index.js';
import { send } from '../../test/helpers/http.js';
import { broker, clearPrefix, connectTest, Device, request, uniquePrefix } from '../../test/edge/device.js';
import { linearDeployment, tempDir } from '../../test/targets/helpers.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const body = JSON.stringify({ data: [[1, 2, 3]] });
const ms = (value: number): string => value.toFixed(value < 10 ? 2 : 0).padStart(10);

async function timed(count: number, once: () => Promise<void>): Promise<number[]> {
  await once();
  const out: number[] = [];
  for (let n = 0; n < count; n += 1) {
    const started = performance.now();
    await once();
    out.push(performance.now() - started);
  }
  return out;
}

/** A client that answers every message on `in` with the same bytes on `out`, correlation kept. */
async function echo(inTopic: string, outTopic: string): Promise<MqttClient> {
  const client = await connectTest();
  client.on('message', (_topic, payload, packet) => {
    const correlationData = packet.properties?.correlationData;
    client.publish(outTopic, payload, {
      qos: packet.qos,
      properties: correlationData === undefined ? {} : { correlationData },
    });
  });
  await client.subscribeAsync(inTopic, { qos: 1 });
  return client;
}

/** Sequential requests on `inTopic`, answers matched by correlation data on `outTopic` (subscribed once). */
async function requester(
  client: MqttClient,
  inTopic: string,
  outTopic: string,
  qos: 0 | 1,
): Promise<() => Promise<string>> {
  const waiting = new Map<string, (status: string) => void>();
  client.on('message', (topic, _payload, packet) => {
    const key = packet.properties?.correlationData?.toString('hex');
    if (topic !== outTopic || key === undefined) return;
    const status = packet.properties?.userProperties?.status;
    waiting.get(key)?.(String(Array.isArray(status) ? status[0] : (status ?? '200')));
    waiting.delete(key);
  });
  await client.subscribeAsync(outTopic, { qos });
  return () =>
    new Promise((resolveAnswer, rejectAnswer) => {
      const correlationData = randomBytes(8);
      const timer = setTimeout(() => rejectAnswer(new Error(`no answer on ${outTopic}`)), 30_000);
      waiting.set(correlationData.toString('hex'), (status) => {
        clearTimeout(timer);
        resolveAnswer(status);
      });
      client.publish(inTopic, body, { qos, properties: { correlationData } });
    });
}

async function firstResult(
  device: Device,
  client: MqttClient,
  prefix: string,
  started: number,
): Promise<number> {
  await device.event((event) => event.event === 'running', 600_000, 'a running version');
  // Served from the cache, a device runs before it is on the broker: MQTT reaches it once subscribed.
  await device.event((event) => event.event === 'connected', 60_000, 'the broker link');
  const topics = topicsFor(prefix);
  const reply = await request(
    client,
    topics.input(device.options.deviceId, 'bench'),
    topics.output(device.options.deviceId, 'bench'),
    body,
    60_000,
  );
  if (reply.status !== '200') throw new Error(`the device answered ${reply.status}: ${reply.payload}`);
  return performance.now() - started;
}

async function main(): Promise<void> {
  const requests = option('--requests', 300);
  const dir = tempDir('bench-edge');
  const prefix = uniquePrefix();
  const topics = topicsFor(prefix);
  const deviceId = `bench-${randomBytes(3).toString('hex')}`;
  const devices: Device[] = [];
  const clients: MqttClient[] = [];
  try {
    const client = await connectTest();
    clients.push(client);
    const target = createEdgeTarget({
      kind: 'edge',
      broker,
      deviceGroup: 'bench',
      topicPrefix: prefix,
      workDir: join(dir.path, 'work'),
    });
    const spec = linearDeployment(dir.path, {
      target: 'edge',
      endpointName: 'bench',
      deploymentName: 'edge',
    });
    const publishStarted = performance.now();
    const handle = await target.deploy(spec, () => undefined);
    const publishMs = performance.now() - publishStarted;

    const cache = join(dir.path, 'device-cache');
    let started = performance.now();
    let device = new Device({ deviceId, cache, prefix, group: 'bench' });
    devices.push(device);
    const coldEmpty = await firstResult(device, client, prefix, started);
    await device.stop();
    started = performance.now();
    device = new Device({ deviceId, cache, prefix, group: 'bench' });
    devices.push(device);
    const coldCached = await firstResult(device, client, prefix, started);

    const url = await device.url();
    const echoClient = await echo(`${prefix}/echo/in`, `${prefix}/echo/out`);
    clients.push(echoClient);
    const latency: { name: string; values: number[] }[] = [];
    for (const qos of [0, 1] as const) {
      // One client per QoS, so each subscribes to the answers at the QoS it measures.
      const asker = await connectTest();
      clients.push(asker);
      const toEcho = await requester(asker, `${prefix}/echo/in`, `${prefix}/echo/out`, qos);
      latency.push({
        name: `bare MQTT echo, QoS ${qos}`,
        values: await timed(requests, () => toEcho().then(() => undefined)),
      });
      const toDevice = await requester(
        asker,
        topics.input(deviceId, `bench${qos}`),
        topics.output(deviceId, `bench${qos}`),
        qos,
      );
      latency.push({
        name: `device MQTT in → out, QoS ${qos}`,
        values: await timed(requests, async () => {
          const status = await toDevice();
          if (status !== '200') throw new Error(`answered ${status}`);
        }),
      });
    }
    const viaHttp = await timed(requests, async () => {
      const answer = await send(`${url}/score`, { raw: Buffer.from(body) });
      if (answer.status !== 200) throw new Error(`answered ${answer.status}`);
    });
    await target.remove(handle);

    const bytes = Number(handle.data.bundleBytes);
    const row = (name: string, values: number[]) =>
      `${name.padEnd(34)}${ms(percentile(values, 50))}${ms(percentile(values, 99))}`;
    process.stdout.write(
      [
        `edge device, linear model, one row per request; broker ${broker}; ${requests} sequential requests each`,
        '',
        `bundle: ${(bytes / 1024 / 1024).toFixed(1)} MB (${bytes} bytes) in ${Math.ceil(bytes / (256 * 1024))} chunks; built and published in ${ms(publishMs).trim()} ms`,
        `cold start to first MQTT result, empty cache (fetch, verify, unpack, start): ${ms(coldEmpty).trim()} ms`,
        `cold start to first MQTT result, from the cache (device restarted):         ${ms(coldCached).trim()} ms`,
        '',
        `${'(ms)'.padEnd(34)}${'p50'.padStart(10)}${'p99'.padStart(10)}`,
        ...latency.map(({ name, values }) => row(name, values)),
        row('device local HTTP /score', viaHttp),
        '',
      ].join('\n'),
    );
  } finally {
    for (const device of devices) await device.stop();
    for (const client of clients) await client.endAsync();
    await clearPrefix(prefix);
    dir.remove();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
