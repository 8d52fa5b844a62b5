/**
 * The device's twin reports against the real Mosquitto: a change made while the report before it
 * is still being written to the cache reaches the broker too, and reports arrive in the order they
 * were taken, so the retained twin is the newest. The cache is the real one; only its twin writes
 * can be held back, as a slow disk would, to put the change exactly inside that window.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { DeviceCache } from '../../src/edge/cache.js';
import { TwinReporter } from '../../src/edge/twin.js';
import { openBroker, topicsFor, twinSchema, type Twin } from '../../src/targets/edge/index.js';
import { broker, clearPrefix, connectTest, uniquePrefix } from './device.js';

/** A device cache whose next twin write can be held until the test lets it go. */
class HeldCache extends DeviceCache {
  writes = 0;
  private held: Promise<void> | undefined;

  /** Holds the next twin write; the returned function lets it go. */
  holdNext(): () => void {
    let release = (): void => undefined;
    this.held = new Promise((settle) => (release = settle));
    return release;
  }

  override async writeTwin(twin: Twin): Promise<void> {
    this.writes += 1;
    const held = this.held;
    this.held = undefined;
    await held;
    await super.writeTwin(twin);
  }
}

async function until(check: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`,
      );
    await new Promise((settle) => setTimeout(settle, 10));
  }
}

const sleep = (ms: number) => new Promise((settle) => setTimeout(settle, ms));

describe('edge device twin reports', { timeout: 120_000 }, () => {
  const prefix = uniquePrefix();
  const topics = topicsFor(prefix);
  let dir: string;
  let watcher: MqttClient;
  const devices: { reporter: TwinReporter; client: MqttClient }[] = [];
  /** Every report the broker delivered, by device. */
  const seen = new Map<string, Twin[]>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-twin-'));
    watcher = await connectTest();
    watcher.on('message', (_topic, payload) => {
      if (payload.length === 0) return;
      const twin = twinSchema.parse(JSON.parse(payload.toString('utf8')));
      seen.set(twin.device, [...(seen.get(twin.device) ?? []), twin]);
    });
    await watcher.subscribeAsync(topics.reported('+'), { qos: 1 });
  });
  after(async () => {
    for (const { reporter, client } of devices) {
      reporter.close();
      await client.endAsync(true);
    }
    await watcher?.endAsync();
    await clearPrefix(prefix);
    await rm(dir, { recursive: true, force: true });
  });

  async function device(id: string): Promise<{ reporter: TwinReporter; cache: HeldCache }> {
    const cache = new HeldCache(join(dir, id));
    await cache.init();
    const reporter = new TwinReporter(cache, topics, id, 'line-a', undefined);
    const client = openBroker({
      broker,
      caFile: undefined,
      clientId: `${prefix}-${id}`,
      reconnectPeriodMs: 0,
    });
    reporter.attach(client);
    devices.push({ reporter, client });
    await until(() => client.connected, 10_000, `${id} connected`);
    // The report sent on connect, so the changes below start from a quiet reporter.
    await until(
      () => reporter.sent === 1 && (seen.get(id)?.length ?? 0) === 1,
      10_000,
      `${id}'s first report`,
    );
    return { reporter, cache };
  }

  /** The twin the broker retains for `id` now, read with a fresh subscription. */
  async function retained(id: string): Promise<Twin> {
    const reader = await connectTest();
    try {
      const found = new Promise<Twin>((settle) =>
        reader.on('message', (_topic, payload) =>
          settle(twinSchema.parse(JSON.parse(payload.toString('utf8')))),
        ),
      );
      await reader.subscribeAsync(topics.reported(id), { qos: 1 });
      return await found;
    } finally {
      await reader.endAsync();
    }
  }

  it('reports a change made while the report before it is being written', async () => {
    const { reporter, cache } = await device('press-1');
    const release = cache.holdNext();
    reporter.change({ state: 'starting', desiredVersion: 2 });
    await until(() => cache.writes === 2, 5000, 'the report of "starting" being written');
    // The version fails to start while that report is still on its way; it goes on at once,
    // before the reporter gathers the next change.
    reporter.change({ state: 'running', failedVersion: 2, lastError: 'version 2 failed to start' });
    release();
    await until(
      () => seen.get('press-1')?.some((twin) => twin.failedVersion === 2) === true,
      5000,
      () =>
        `the failed start reported; the broker saw ${JSON.stringify(seen.get('press-1')?.map((t) => t.state))}`,
    );
    assert.deepEqual(
      seen.get('press-1')?.map((twin) => [twin.state, twin.failedVersion]),
      [
        ['idle', null],
        ['starting', null],
        ['running', 2],
      ],
    );
    assert.equal((await retained('press-1')).failedVersion, 2);
  });

  it('sends reports in the order they were taken, so the retained twin is the newest', async () => {
    const { reporter, cache } = await device('press-2');
    const release = cache.holdNext();
    reporter.change({ state: 'starting', desiredVersion: 2 });
    await until(() => cache.writes === 2, 5000, 'the report of "starting" being written');
    reporter.change({ state: 'running', failedVersion: 2 });
    // Long enough for the next report to be taken (and, were reports not in order, sent) while
    // the first one is still held.
    await sleep(500);
    release();
    await until(() => (seen.get('press-2')?.length ?? 0) >= 3, 5000, 'both reports');
    await sleep(300);
    assert.deepEqual(
      seen.get('press-2')?.map((twin) => twin.state),
      ['idle', 'starting', 'running'],
    );
    const newest = await retained('press-2');
    assert.deepEqual([newest.state, newest.failedVersion], ['running', 2]);
    assert.deepEqual(newest, reporter.current);
  });
});
