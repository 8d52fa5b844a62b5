/**
 * The device's twin: its state, the version it runs, its counters and its last error, published
 * retained on `{prefix}/{device}/reported`. Changes are gathered for a moment and sent as one
 * report; while the broker is unreachable the latest report waits (a twin is a state, so only the
 * newest one matters) and goes out as soon as the link is back. Every report is also kept in the
 * cache, so counters carry over a restart.
 */
import type { MqttClient } from 'mqtt';
import type { Topics, Twin } from '../targets/edge/index.js';
import type { DeviceCache } from './cache.js';

type Counter = keyof Twin['counters'];
export type TwinChange = Partial<Omit<Twin, 'schema' | 'device' | 'group' | 'counters' | 'reportedAt'>>;

const gatherMs = 100;

export class TwinReporter {
  private twin: Twin;
  private pending = false;
  private timer: NodeJS.Timeout | undefined;
  /** The report being taken (or the last one): the next waits for it. */
  private flushing: Promise<void> = Promise.resolve();
  private client: MqttClient | undefined;
  /** Reports published since start (the ones that reached the broker). */
  sent = 0;

  constructor(
    private readonly cache: DeviceCache,
    private readonly topics: Topics,
    device: string,
    group: string,
    previous: Twin | undefined,
  ) {
    this.twin = {
      schema: 1,
      device,
      group,
      state: 'idle',
      desiredVersion: previous?.desiredVersion ?? null,
      runningVersion: null,
      bundleSha256: null,
      failedVersion: previous?.failedVersion ?? null,
      deployment: null,
      health: 'down',
      counters: previous?.counters ?? { scored: 0, failed: 0, refusedBundles: 0, failedStarts: 0 },
      lastError: previous?.lastError ?? null,
      reportedAt: new Date().toISOString(),
    };
  }

  get current(): Twin {
    return this.twin;
  }

  /** Sends the waiting report whenever `client` (re)connects. */
  attach(client: MqttClient): void {
    this.client = client;
    client.on('connect', () => this.schedule());
  }

  change(change: TwinChange): void {
    this.twin = { ...this.twin, ...change };
    this.schedule();
  }

  count(counter: Counter, by = 1): void {
    this.twin = {
      ...this.twin,
      counters: { ...this.twin.counters, [counter]: this.twin.counters[counter] + by },
    };
    this.schedule();
  }

  private schedule(): void {
    this.pending = true;
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, gatherMs);
  }

  /**
   * Writes the twin to the cache and, when the link is up, publishes it; settles once the broker
   * has it (or the link dropped). Reports are taken one after another and handed to the client in
   * that order, so they reach the broker in the order they were taken and the retained one is the
   * newest; a change made while one is on its way is sent by the next. Only the taking is one at
   * a time: a report waiting for the broker's ack holds back neither the next nor its cache write.
   */
  flush(): Promise<void> {
    const taken = this.flushing.then(() => this.take());
    this.flushing = taken.then(() => undefined);
    return taken.then((sending) => sending?.acked);
  }

  private async take(): Promise<{ acked: Promise<void> } | undefined> {
    if (!this.pending) return undefined;
    // Cleared before the first await: a change from here on marks a report of its own, which the
    // taking of this one must not clear.
    this.pending = false;
    this.twin = { ...this.twin, reportedAt: new Date().toISOString() };
    const twin = this.twin;
    await this.cache.writeTwin(twin).catch(() => undefined);
    const client = this.client;
    if (client?.connected !== true) {
      // Offline: the report waits for the next connect.
      this.pending = true;
      return undefined;
    }
    const acked = client
      .publishAsync(this.topics.reported(twin.device), JSON.stringify(twin), { qos: 1, retain: true })
      .then(
        () => {
          this.sent += 1;
        },
        () => {
          // The link dropped while sending: the newest twin goes out on the next connect.
          this.pending = true;
        },
      );
    return { acked };
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
