/**
 * `berth edge agent`: what runs on a device. Started, it first serves what its cache holds (no
 * broker or control plane needed), then keeps a link to the broker in the background:
 *
 * - the group's desired state → fetch and verify the bundle (download.ts), start its scoring
 *   server, and only once that server listens, move traffic to it and stop the old one. A bundle
 *   that does not verify, or a server that does not start, leaves the running version serving
 *   and is reported (lastError, counters) and not tried again by this process;
 * - `{prefix}/{device}/in/{stream}` → scored → `{prefix}/{device}/out/{stream}` (bridge.ts);
 * - the twin, published retained and held back while offline (twin.ts);
 * - `{prefix}/{device}/online`: `true` on connect, `false` as the broker-held will.
 *
 * Applying desired states is serial; a newer one that arrives meanwhile supersedes any waiting.
 * During a rollout in waves the device's own desired state (`{prefix}/{device}/desired`, for its
 * group) wins over the group's; once it is cleared the group's applies again, which is how a
 * device of a wave that went ahead goes back on a rollback.
 */
import type { Server } from 'node:http';
import type { IPublishPacket, MqttClient } from 'mqtt';
import { toBerthError } from '../core/errors.js';
import {
  desiredStateSchema,
  openBroker,
  readMessage,
  topicsFor,
  type DesiredState,
  type Topics,
} from '../targets/edge/index.js';
import { failure, refusal, scoreOverHttp, type ScoreAnswer } from './bridge.js';
import { DeviceCache } from './cache.js';
import { fetchBundle } from './download.js';
import { portOf, startLocalApi } from './local-api.js';
import { ScoringProcess } from './scoring-process.js';
import { TwinReporter } from './twin.js';

export interface EdgeAgentOptions {
  broker: string;
  caFile: string | undefined;
  deviceId: string;
  group: string;
  topicPrefix: string;
  cacheDir: string;
  /** The device's HTTP scoring API. */
  host: string;
  port: number;
  startTimeoutMs: number;
  /** A bundle fetch with no chunk for this long gives up until the desired state comes again. */
  stallMs: number;
  reconnectPeriodMs: number;
  requestTimeoutMs: number;
  /** The largest scoring message taken from MQTT; a larger one gets a 413 error on its out topic. */
  maxMessageBytes: number;
  /** Human-readable lines (the scoring server's output included). */
  log: (line: string) => void;
  /** One JSON-able object per event: serving, connected, running, refused, failed-start, idle. */
  event: (event: Record<string, unknown>) => void;
}

interface Running {
  desired: DesiredState;
  process: ScoringProcess;
}

export class EdgeAgent {
  private running: Running | undefined;
  private latest: DesiredState | undefined;
  /** The last desired states heard for the group and for this device alone (a rollout's). */
  private groupDesired: DesiredState | undefined;
  private deviceDesired: DesiredState | undefined;
  /** The version being applied now. */
  private applying: number | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** `version:sha256` of desired states this process refused: not tried again. */
  private readonly refused = new Set<string>();
  private client: MqttClient | undefined;
  private api: Server | undefined;
  private closed = false;
  readonly topics: Topics;
  readonly cache: DeviceCache;
  twin!: TwinReporter;

  private constructor(readonly options: EdgeAgentOptions) {
    this.topics = topicsFor(options.topicPrefix);
    this.cache = new DeviceCache(options.cacheDir);
  }

  static async start(options: EdgeAgentOptions): Promise<EdgeAgent> {
    const agent = new EdgeAgent(options);
    await agent.begin();
    return agent;
  }

  get url(): string {
    return `http://${this.options.host}:${this.api === undefined ? 0 : portOf(this.api)}`;
  }

  /** The version served now, or undefined. */
  get runningVersion(): number | undefined {
    return this.running?.desired.version;
  }

  private async begin(): Promise<void> {
    const { options } = this;
    await this.cache.init();
    this.twin = new TwinReporter(
      this.cache,
      this.topics,
      options.deviceId,
      options.group,
      await this.cache.readTwin(),
    );
    this.api = await startLocalApi(
      {
        port: () => this.running?.process.port,
        twin: () => this.twin.current,
        answered: (status) => this.twin.count(status === 200 ? 'scored' : 'failed'),
      },
      options.host,
      options.port,
    );
    options.event({ event: 'serving', url: this.url });
    const cached = await this.cache.readCurrent();
    if (cached?.bundle != null && this.cache.hasBundle(cached.bundle.sha256)) {
      // Served from the cache before the broker is even tried: a device with no link still serves.
      this.latest = cached;
      await this.apply(cached);
    }
    const client = openBroker({
      broker: options.broker,
      caFile: options.caFile,
      clientId: `berth-edge-${options.deviceId}-${process.pid}`,
      reconnectPeriodMs: options.reconnectPeriodMs,
      will: { topic: this.topics.online(options.deviceId), payload: 'false', retain: true },
    });
    this.client = client;
    this.twin.attach(client);
    client.on('connect', () => {
      options.log(`connected to ${options.broker}`);
      client.publish(this.topics.online(options.deviceId), 'true', { qos: 1, retain: true });
      client.subscribe(
        [
          this.topics.desired(options.group),
          this.topics.deviceDesired(options.deviceId),
          this.topics.input(options.deviceId, '+'),
        ],
        { qos: 1 },
        (error) => {
          if (error) options.log(`cannot subscribe: ${error.message}`);
          else options.event({ event: 'connected', broker: options.broker });
        },
      );
    });
    client.on('error', (error) => options.log(`broker: ${error.message}`));
    client.on('offline', () => options.log(`broker ${options.broker} unreachable; serving from the cache`));
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
  }

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (topic === this.topics.desired(this.options.group)) {
      const desired = readMessage(desiredStateSchema, payload);
      if (desired === undefined) return;
      this.groupDesired = desired;
      this.onDesired(this.deviceDesired ?? desired);
      return;
    }
    if (topic === this.topics.deviceDesired(this.options.deviceId)) {
      // Empty: the rollout that put it there ended; anything else must be a state for this group.
      const desired = readMessage(desiredStateSchema, payload);
      this.deviceDesired = desired?.group === this.options.group ? desired : undefined;
      const effective = this.deviceDesired ?? this.groupDesired;
      if (effective !== undefined) this.onDesired(effective);
      return;
    }
    const inputPrefix = this.topics.input(this.options.deviceId, '');
    if (topic.startsWith(inputPrefix)) void this.onInput(topic.slice(inputPrefix.length), payload, packet);
  }

  private onDesired(desired: DesiredState): void {
    if (this.twin.current.desiredVersion !== desired.version)
      this.options.event({ event: 'desired', version: desired.version });
    this.twin.change({ desiredVersion: desired.version });
    const key = `${desired.version}:${desired.bundle?.sha256 ?? 'none'}`;
    if (this.refused.has(key) || desired.version === this.applying) return;
    const runsIt =
      desired.version === this.running?.desired.version &&
      desired.bundle?.sha256 === this.running.desired.bundle?.sha256;
    // While another version is being applied, the one running now is wanted again (a rollout's
    // rollback): it is queued like any other, so the version in flight does not stay.
    if (runsIt && this.applying === undefined) {
      this.latest = desired;
      return;
    }
    this.latest = desired;
    this.chain = this.chain
      .then(async () => {
        this.applying = desired.version;
        await this.apply(desired);
      })
      .catch((error: unknown) => {
        this.options.log(`applying version ${desired.version}: ${toBerthError(error).message}`);
      })
      .finally(() => {
        this.applying = undefined;
      });
  }

  private settled(error: string | undefined): void {
    this.twin.change({
      state: this.running === undefined ? (error === undefined ? 'idle' : 'failed') : 'running',
      health: this.running === undefined ? 'down' : 'ok',
      ...(error === undefined ? {} : { lastError: error }),
    });
  }

  private async apply(desired: DesiredState): Promise<void> {
    if (this.closed || desired !== this.latest) return;
    const key = `${desired.version}:${desired.bundle?.sha256 ?? 'none'}`;
    const bundle = desired.bundle;
    if (bundle === null) {
      await this.stopRunning();
      await this.cache.writeCurrent(undefined);
      this.twin.change({ runningVersion: null, bundleSha256: null, deployment: null });
      this.settled(undefined);
      this.options.event({ event: 'idle', version: desired.version });
      return;
    }
    if (this.running?.desired.bundle?.sha256 === bundle.sha256) {
      this.running.desired = desired;
      await this.cache.writeCurrent(desired);
      this.twin.change({ runningVersion: desired.version, deployment: desired.deployment });
      return;
    }
    let dir: string;
    try {
      if (!this.cache.hasBundle(bundle.sha256)) this.twin.change({ state: 'downloading' });
      dir = await fetchBundle(this.client!, this.topics, bundle, this.cache, this.options.stallMs);
    } catch (error) {
      const berth = toBerthError(error);
      const refuse = berth.code === 'CORRUPT_ARTIFACT' || berth.code === 'PATH_ESCAPES';
      if (refuse) {
        this.refused.add(key);
        this.twin.count('refusedBundles');
        this.twin.change({ failedVersion: desired.version });
        this.options.event({ event: 'refused', version: desired.version, reason: berth.message });
      }
      const kept =
        this.running === undefined ? '' : `; still running version ${this.running.desired.version}`;
      this.settled(`version ${desired.version}: ${berth.message}${kept}`);
      return;
    }
    await this.startVersion(desired, dir, key);
  }

  private async startVersion(desired: DesiredState, dir: string, key: string): Promise<void> {
    this.twin.change({ state: 'starting' });
    const next = new ScoringProcess({
      bundleDir: dir,
      dataDir: this.cache.dataDir(),
      startTimeoutMs: this.options.startTimeoutMs,
      log: this.options.log,
    });
    try {
      await next.start();
    } catch (error) {
      await next.stop(1000);
      this.refused.add(key);
      this.twin.count('failedStarts');
      this.twin.change({ failedVersion: desired.version });
      const message = toBerthError(error).message;
      this.options.event({ event: 'failed-start', version: desired.version, reason: message });
      const kept =
        this.running === undefined ? '' : `; still running version ${this.running.desired.version}`;
      this.settled(`version ${desired.version} failed to start: ${message}${kept}`);
      return;
    }
    const previous = this.running;
    this.running = { desired, process: next };
    next.onExit = (reason) => void this.onCrash(next, reason);
    await this.cache.writeCurrent(desired);
    this.twin.change({
      runningVersion: desired.version,
      bundleSha256: desired.bundle?.sha256 ?? null,
      deployment: desired.deployment,
    });
    this.settled(undefined);
    this.options.event({ event: 'running', version: desired.version, port: next.port });
    await previous?.process.stop();
    const keep = [desired.bundle?.sha256, previous?.desired.bundle?.sha256].filter(
      (sha) => sha !== undefined,
    );
    await this.cache.prune(keep);
  }

  /** The running server died on its own: report it and start it again from the cache. */
  private async onCrash(process: ScoringProcess, reason: string): Promise<void> {
    if (this.closed || this.running?.process !== process) return;
    const running = this.running;
    this.running = undefined;
    this.settled(`the scoring server of version ${running.desired.version} stopped: ${reason}`);
    await new Promise((settle) => setTimeout(settle, 1000));
    if (this.closed || this.latest !== running.desired) return;
    const dir = this.cache.bundleDir(running.desired.bundle?.sha256 ?? '');
    this.chain = this.chain.then(() => this.startVersion(running.desired, dir, 'restart'));
  }

  private async onInput(stream: string, payload: Buffer, packet: IPublishPacket): Promise<void> {
    const port = this.running?.process.port;
    const refused = refusal(
      this.topics.input(this.options.deviceId, stream),
      payload,
      packet.retain,
      this.options.maxMessageBytes,
    );
    const answer: ScoreAnswer =
      refused ??
      (port === undefined
        ? failure(503, 'no deployment runs on this device yet')
        : await scoreOverHttp(port, payload, this.options.requestTimeoutMs));
    this.twin.count(answer.status === 200 ? 'scored' : 'failed');
    const correlationData = packet.properties?.correlationData;
    this.client?.publish(this.topics.output(this.options.deviceId, stream), answer.body, {
      qos: packet.qos,
      properties: {
        userProperties: { status: String(answer.status) },
        contentType: 'application/json',
        ...(correlationData === undefined ? {} : { correlationData }),
      },
    });
  }

  private async stopRunning(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.process.stop();
  }

  /** Stops serving and leaves the broker (the device shows offline). */
  async close(): Promise<void> {
    this.closed = true;
    await this.chain.catch(() => undefined);
    await this.twin.flush();
    this.twin.close();
    const client = this.client;
    if (client !== undefined) {
      if (client.connected)
        await client
          .publishAsync(this.topics.online(this.options.deviceId), 'false', { qos: 1, retain: true })
          .catch(() => undefined);
      await client.endAsync(true);
    }
    await this.stopRunning();
    await new Promise<void>((settle) => (this.api === undefined ? settle() : this.api.close(() => settle())));
  }
}
