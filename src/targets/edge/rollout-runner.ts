/**
 * The rollouts in waves one edge target drives in this process, one per device group, each in the
 * background on a client of its own that reconnects (a rollout outlives a broker blip). Stopping
 * one leaves its record `rolling` on the broker, for the next deploy to resume.
 */
import type { MqttClient } from 'mqtt';
import { toBerthError } from '../../core/errors.js';
import type { ResolvedEdgeTargetConfig } from './config.js';
import { openBroker } from './connect.js';
import type { Rollout, Topics } from './protocol.js';
import { driveRollout, saveRollout } from './rollout.js';

export class RolloutRunner {
  readonly #running = new Map<string, { abort: AbortController; done: Promise<void> }>();

  constructor(
    private readonly config: ResolvedEdgeTargetConfig,
    private readonly topics: Topics,
  ) {}

  /** Drives `rollout` until it ends or stop(); nothing when this process drives its group already. */
  start(rollout: Rollout): void {
    const settings = this.config.rollout;
    if (settings === undefined || this.#running.has(rollout.group)) return;
    const abort = new AbortController();
    const client = openBroker({
      broker: this.config.broker,
      caFile: this.config.caFile,
      clientId: `berth-${this.config.name}-rollout-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      reconnectPeriodMs: 1000,
    });
    const run = async (): Promise<void> => {
      try {
        if (!(await connected(client, abort.signal))) return;
        await driveRollout(client, this.topics, settings, rollout, abort.signal);
      } catch (error) {
        // The record keeps `rolling`, with the reason; the next deploy (a restart's) resumes it.
        const reason = `the rollout stopped: ${toBerthError(error).message}`;
        await saveRollout(client, this.topics, { ...rollout, reason }).catch(() => undefined);
      } finally {
        this.#running.delete(rollout.group);
        await client.endAsync(true).catch(() => undefined);
      }
    };
    this.#running.set(rollout.group, { abort, done: run() });
  }

  /** Settles when the group's rollout driven here ends; undefined when none runs here. */
  done(group: string): Promise<void> | undefined {
    return this.#running.get(group)?.done;
  }

  async stop(group: string): Promise<void> {
    const running = this.#running.get(group);
    if (running === undefined) return;
    running.abort.abort();
    await running.done;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#running.keys()].map((group) => this.stop(group)));
  }
}

/** Resolves true once `client` is connected, false if `signal` aborts first. */
function connected(client: MqttClient, signal: AbortSignal): Promise<boolean> {
  if (client.connected) return Promise.resolve(true);
  return new Promise((settle) => {
    const onConnect = (): void => {
      signal.removeEventListener('abort', onAbort);
      settle(true);
    };
    const onAbort = (): void => {
      client.off('connect', onConnect);
      settle(false);
    };
    client.once('connect', onConnect);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
