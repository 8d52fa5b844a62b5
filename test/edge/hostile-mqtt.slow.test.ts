/**
 * Hostile input on a device's MQTT scoring topics, against the real Mosquitto and a device run as
 * its own `berth edge agent` process: one row per probe, each sent on `{prefix}/{device}/in/{stream}`
 * and answered on `…/out/{stream}` with the status (user property) and a message naming the
 * problem, never INTERNAL; after each, the correct request still gets the correct answer.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { createEdgeTarget, topicsFor, type EdgeTarget, type Twin } from '../../src/targets/edge/index.js';
import { linearDeployment, tempDir } from '../targets/helpers.js';
import { broker, clearPrefix, connectTest, Device, messageOn, request, uniquePrefix } from './device.js';

const maxMessageBytes = 64 * 1024;

interface Probe {
  name: string;
  body: string | Buffer;
  status: string;
  message: RegExp;
}

const probes: Probe[] = [
  { name: 'not JSON', body: 'temperature=21.5', status: '400', message: /in\/line-1 is not JSON/ },
  { name: 'JSON cut short', body: '{"data": [[1, 2, 3]', status: '400', message: /is not JSON/ },
  { name: 'an empty message', body: '', status: '400', message: /in\/line-1 is empty/ },
  {
    name: 'JSON that is no request (a number)',
    body: '42',
    status: '400',
    message: /is JSON number, not a request/,
  },
  { name: 'JSON null', body: 'null', status: '400', message: /is JSON null, not a request/ },
  {
    name: 'rows of the wrong width',
    body: JSON.stringify({ data: [[1, 2]] }),
    status: '400',
    message: /expected \[-1,3\]/,
  },
  {
    name: 'a request without its data field',
    body: JSON.stringify({ rows: [[1, 2, 3]] }),
    status: '400',
    message: /data/,
  },
  {
    name: 'strings where numbers go',
    body: JSON.stringify({ data: [['a', 'b', 'c']] }),
    status: '400',
    message: /number|FP32|numeric/i,
  },
  {
    name: 'a message over --max-message-bytes',
    body: Buffer.from(JSON.stringify({ data: [[1, 2, 3]], pad: 'x'.repeat(maxMessageBytes) })),
    status: '413',
    message: new RegExp(`larger than the limit of ${maxMessageBytes} bytes`),
  },
];

describe('hostile MQTT input on an edge device', { concurrency: 1, timeout: 300_000 }, () => {
  const dir = tempDir('edge-hostile');
  const prefix = uniquePrefix();
  const group = 'line-h';
  const topics = topicsFor(prefix);
  const input = topics.input('probe-1', 'line-1');
  const output = topics.output('probe-1', 'line-1');
  let device: Device;
  let client: MqttClient;
  let target: EdgeTarget;
  let ready = false;

  before(async () => {
    client = await connectTest();
    device = new Device({
      deviceId: 'probe-1',
      cache: join(dir.path, 'cache'),
      prefix,
      group,
      args: ['--max-message-bytes', String(maxMessageBytes)],
    });
    await device.url();
    target = createEdgeTarget({
      kind: 'edge',
      name: 'plant-h',
      broker,
      deviceGroup: group,
      topicPrefix: prefix,
      workDir: join(dir.path, 'work'),
    });
    await target.deploy(linearDeployment(dir.path), () => undefined);
    await device.event(
      (event) => event.event === 'running' && event.version === 1,
      180_000,
      'version 1 running',
    );
    ready = true;
  });
  after(async () => {
    await device?.stop();
    await client?.endAsync();
    await clearPrefix(prefix);
    dir.remove();
  });

  const correct = async (): Promise<void> => {
    const reply = await request(client, input, output, JSON.stringify({ data: [[1, 2, 3]] }), 30_000);
    assert.equal(reply.status, '200', reply.payload);
    assert.deepEqual(JSON.parse(reply.payload), [[4.75]]);
  };

  for (const probe of probes) {
    it(probe.name, async (t) => {
      if (!ready) {
        t.skip('the device never ran the deployment (see the suite set-up)');
        return;
      }
      const reply = await request(client, input, output, probe.body.toString(), 30_000);
      assert.equal(reply.status, probe.status, reply.payload);
      const answer = JSON.parse(reply.payload) as { code?: string; message?: string };
      assert.match(answer.message ?? '', probe.message, reply.payload);
      assert.notEqual(answer.code, 'INTERNAL', reply.payload);
      t.diagnostic(`${reply.status} ${reply.payload.slice(0, 200)}`);
      await correct();
    });
  }

  it('keeps counting: the twin shows the refusals as failed and the correct requests as scored', async (t) => {
    if (!ready) {
      t.skip('the device never ran the deployment (see the suite set-up)');
      return;
    }
    // The twin goes out a moment after the last answer: wait for the report that has caught up.
    await messageOn<Twin>(
      client,
      topics.reported('probe-1'),
      (twin) => twin.counters.failed >= probes.length && twin.counters.scored >= probes.length,
      30_000,
      'the twin counting the probes',
    );
    const twin = (await target.fleet()).devices[0]?.twin;
    assert.ok(twin);
    assert.equal(twin.state, 'running');
  });
});
