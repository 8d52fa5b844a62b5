/**
 * Edge devices for the tests: `berth edge agent` run as a separate process with its own cache
 * folder (the real executable), its JSON events read from stdout; and MQTT helpers that use a
 * unique topic prefix per test and clear every retained message under it afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { it, type TestContext } from 'node:test';
import { connectAsync, type MqttClient } from 'mqtt';
import { sendImmediately } from '../../src/targets/edge/index.js';
import { berthBin, repoRoot } from '../helpers/cli.js';

export const broker = process.env.BERTH_TEST_MQTT ?? 'mqtt://127.0.0.1:1883';

export function uniquePrefix(): string {
  return `berth-test-${randomBytes(5).toString('hex')}`;
}

/** An event the agent printed, with `receivedAt`: when the test read it (Date.now()). */
export type DeviceEvent = Record<string, unknown> & { event: string; receivedAt: number };

export interface DeviceOptions {
  deviceId: string;
  cache: string;
  prefix: string;
  group: string;
  broker?: string;
  caFile?: string;
  stallMs?: number;
  /** Added to the agent's environment (its scoring servers inherit it). */
  env?: Record<string, string>;
  /** More `berth edge agent` flags. */
  args?: string[];
}

export class Device {
  readonly events: DeviceEvent[] = [];
  stderr = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(readonly options: DeviceOptions) {
    this.child = spawn(
      process.execPath,
      [
        berthBin,
        'edge',
        'agent',
        '--broker',
        options.broker ?? broker,
        '--device-id',
        options.deviceId,
        '--cache',
        options.cache,
        '--group',
        options.group,
        '--topic-prefix',
        options.prefix,
        '--stall-ms',
        String(options.stallMs ?? 60_000),
        ...(options.caFile === undefined ? [] : ['--ca-file', options.caFile]),
        ...(options.args ?? []),
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
    );
    let buffer = '';
    this.child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      buffer += text;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        try {
          this.events.push({ ...(JSON.parse(line) as DeviceEvent), receivedAt: Date.now() });
        } catch {
          // Not an event.
        }
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-20_000);
    });
    this.exited = new Promise((settle) => this.child.once('exit', () => settle()));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The first event matching `match`, waiting up to `timeoutMs`. */
  async event(match: (event: DeviceEvent) => boolean, timeoutMs: number, what: string): Promise<DeviceEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(match);
      if (found !== undefined) return found;
      if (this.child.exitCode !== null) throw new Error(`device exited waiting for ${what}:\n${this.stderr}`);
      if (Date.now() > deadline)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; events ${JSON.stringify(this.events)}\n${this.stderr}`,
        );
      await new Promise((settle) => setTimeout(settle, 50));
    }
  }

  async url(): Promise<string> {
    const serving = await this.event((event) => event.event === 'serving', 30_000, 'the local API');
    return String(serving.url);
  }

  /** SIGSTOP / SIGCONT: the device freezes with its link up (it neither reports nor leaves), then goes on. */
  freeze(): void {
    this.child.kill('SIGSTOP');
  }

  thaw(): void {
    this.child.kill('SIGCONT');
  }

  /** SIGKILL: the device dies where it stands. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then SIGKILL if it has not left within 20 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export async function connectTest(url = broker, caFile?: string): Promise<MqttClient> {
  const client = await connectAsync(url, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    clientId: `berth-test-${randomBytes(4).toString('hex')}`,
    ...(caFile === undefined ? {} : { ca: readFileSync(caFile) }),
  });
  sendImmediately(client);
  return client;
}

/** Clears every retained message under `prefix/`. */
export async function clearPrefix(prefix: string): Promise<void> {
  const client = await connectTest();
  try {
    const topics = new Set<string>();
    client.on('message', (topic, payload, packet) => {
      if (packet.retain && payload.length > 0) topics.add(topic);
    });
    await client.subscribeAsync(`${prefix}/#`, { qos: 1 });
    await new Promise((settle) => setTimeout(settle, 1000));
    await client.unsubscribeAsync(`${prefix}/#`);
    for (const topic of topics) await client.publishAsync(topic, Buffer.alloc(0), { qos: 1, retain: true });
  } finally {
    await client.endAsync();
  }
}

/**
 * The first message on `topic` (the retained one included) whose body, parsed as JSON, `match`
 * accepts: the test waits on the broker's word instead of polling a command. Rejects after
 * `timeoutMs` with the last body seen.
 */
export async function messageOn<T = Record<string, unknown>>(
  client: MqttClient,
  topic: string,
  match: (body: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  let last = '(none)';
  let onMessage: (at: string, payload: Buffer) => void = () => undefined;
  const found = new Promise<T>((resolveFound, rejectFound) => {
    const timer = setTimeout(
      () =>
        rejectFound(
          new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last on ${topic}: ${last}`),
        ),
      timeoutMs,
    );
    onMessage = (at, payload) => {
      if (at !== topic || payload.length === 0) return;
      last = payload.toString('utf8');
      try {
        const body = JSON.parse(last) as T;
        if (!match(body)) return;
        clearTimeout(timer);
        resolveFound(body);
      } catch {
        // Not JSON: not the message waited for.
      }
    };
  });
  client.on('message', onMessage);
  try {
    await client.subscribeAsync(topic, { qos: 1 });
    return await found;
  } finally {
    client.off('message', onMessage);
    await client.unsubscribeAsync(topic).catch(() => undefined);
  }
}

/** Publishes `body` on `topic` and resolves with the first message on `replyTopic` (MQTT 5 correlation). */
export async function request(
  client: MqttClient,
  topic: string,
  replyTopic: string,
  body: string,
  timeoutMs: number,
): Promise<{ payload: string; status: string | undefined }> {
  const correlation = randomBytes(8);
  await client.subscribeAsync(replyTopic, { qos: 1 });
  return new Promise((resolveReply, rejectReply) => {
    const timer = setTimeout(
      () => rejectReply(new Error(`no answer on ${replyTopic} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (
      at: string,
      payload: Buffer,
      packet: {
        properties?: { correlationData?: Buffer; userProperties?: Record<string, string | string[]> };
      },
    ): void => {
      if (at !== replyTopic || packet.properties?.correlationData?.equals(correlation) !== true) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      const status = packet.properties.userProperties?.status;
      resolveReply({ payload: payload.toString('utf8'), status: Array.isArray(status) ? status[0] : status });
    };
    client.on('message', onMessage);
    client.publish(topic, body, { qos: 1, properties: { correlationData: correlation } });
  });
}

/**
 * `it` for steps that each build on the one before: once a step fails, every later one is skipped
 * naming it, rather than failing in a confusing way on state the failed step never made.
 */
export function stepsInOrder(): (name: string, body: (t: TestContext) => Promise<void>) => void {
  let failed: string | undefined;
  return (name, body) => {
    void it(name, async (t) => {
      if (failed !== undefined) {
        t.skip(`needs an earlier step: "${failed}" failed`);
        return;
      }
      try {
        await body(t);
      } catch (error) {
        failed = name;
        throw error;
      }
    });
  };
}
