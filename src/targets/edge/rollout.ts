/**
 * A new version rolled out to a device group in waves, with automatic rollback.
 *
 * While a rollout runs, the group's desired state still names the version it started from; each
 * device of a wave that goes ahead gets the new desired state on its own retained topic
 * (`{prefix}/{device}/desired`), which wins over the group's on the device. A wave is done when
 * every one of its devices reports the new version running and healthy; after `bakeMs` more with
 * every device so far still on it, the next wave goes. When the last wave is done the new state
 * becomes the group's and the per-device ones are cleared. When a device reports a failed start of
 * the new version, or a wave does not report within `reportTimeoutMs`, or a device that took it
 * stops running it during the bake, the per-device states are cleared and the group's (the old
 * version) republished: every device goes back to it, and later waves never see the new one.
 *
 * The rollout's record is retained on `{prefix}/groups/{group}/rollout`, so `status()` and
 * `berth edge status` show it and a restarted control plane resumes it from the wave it was in.
 */
import type { MqttClient } from 'mqtt';
import type { ResolvedRollout, WaveSize } from './config.js';
import { clearBundle, publishDesired } from './publish.js';
import { readMessage, twinSchema, type Rollout, type Topics, type Twin } from './protocol.js';

/** Splits `devices` (sorted by id) into waves of the given sizes; the last wave is the rest. */
export function planWaves(devices: readonly string[], sizes: readonly WaveSize[]): string[][] {
  const rest = [...devices].sort((a, b) => a.localeCompare(b));
  const total = rest.length;
  const waves: string[][] = [];
  for (const size of sizes) {
    if (rest.length === 0) break;
    const wanted = typeof size === 'number' ? size : Math.ceil((total * Number(size.slice(0, -1))) / 100);
    waves.push(rest.splice(0, Math.max(1, Math.min(wanted, rest.length))));
  }
  if (rest.length > 0) waves.push(rest);
  return waves;
}

export async function saveRollout(client: MqttClient, topics: Topics, rollout: Rollout): Promise<void> {
  await client.publishAsync(topics.rollout(rollout.group), JSON.stringify(rollout), { qos: 1, retain: true });
}

/** Clears the per-device desired states of `devices` (an empty retained message deletes one). */
export async function clearDeviceDesired(
  client: MqttClient,
  topics: Topics,
  devices: readonly string[],
): Promise<void> {
  for (const device of devices)
    await client.publishAsync(topics.deviceDesired(device), Buffer.alloc(0), { qos: 1, retain: true });
}

/** What a wave's devices say about the new version right now. */
type Verdict =
  { kind: 'running' } | { kind: 'waiting'; devices: string[] } | { kind: 'failed'; reason: string };

function judge(twins: ReadonlyMap<string, Twin>, devices: readonly string[], version: number): Verdict {
  const waiting: string[] = [];
  for (const device of devices) {
    const twin = twins.get(device);
    if (twin?.failedVersion === version)
      return {
        kind: 'failed',
        reason: `${device} could not start version ${version}: ${twin.lastError ?? 'no reason given'}`,
      };
    const runs = twin?.runningVersion === version && twin.state === 'running' && twin.health === 'ok';
    if (!runs) waiting.push(device);
  }
  return waiting.length === 0 ? { kind: 'running' } : { kind: 'waiting', devices: waiting };
}

const pollMs = 100;
/** How often the retained twins are read again, so a report missed on a broken link is not waited for forever. */
const refreshMs = 5000;

/**
 * Drives one rollout to `complete` or `rolled-back` and returns its final record; an aborted
 * `signal` (the control plane stops) leaves it `rolling`, to be resumed. `client` reconnects on its
 * own; the caller owns it.
 */
export async function driveRollout(
  client: MqttClient,
  topics: Topics,
  settings: ResolvedRollout,
  start: Rollout,
  signal: AbortSignal,
): Promise<Rollout> {
  let rollout = start;
  const version = rollout.desired.version;
  const twins = new Map<string, Twin>();
  const reportedFilter = topics.reported('+');
  const onMessage = (topic: string, payload: Buffer): void => {
    if (!topic.endsWith('/reported')) return;
    const twin = readMessage(twinSchema, payload);
    if (twin !== undefined) twins.set(twin.device, twin);
  };
  client.on('message', onMessage);
  const update = async (change: Partial<Rollout>): Promise<Rollout> => {
    rollout = { ...rollout, ...change, updatedAt: new Date().toISOString() };
    await saveRollout(client, topics, rollout);
    return rollout;
  };
  const rollBack = async (reason: string): Promise<Rollout> => {
    await clearDeviceDesired(client, topics, rollout.waves.flat());
    await publishDesired(client, topics, rollout.from);
    const bundle = rollout.desired.bundle;
    if (bundle !== null && bundle.sha256 !== rollout.from.bundle?.sha256)
      await clearBundle(client, topics, bundle);
    return update({
      state: 'rolled-back',
      reason: `rolled back to version ${rollout.from.version}: ${reason}`,
    });
  };
  let refreshed = Date.now();
  /** Waits one poll; now and then subscribes again, which makes the broker resend the retained twins. */
  const pause = async (): Promise<void> => {
    await sleep(pollMs);
    if (Date.now() - refreshed < refreshMs) return;
    refreshed = Date.now();
    await client.unsubscribeAsync(reportedFilter);
    await client.subscribeAsync(reportedFilter, { qos: 1 });
  };
  try {
    await client.subscribeAsync(reportedFilter, { qos: 1 });
    for (let wave = rollout.wave; wave < rollout.waves.length; wave += 1) {
      const devices = rollout.waves[wave] ?? [];
      const before = rollout.waves.slice(0, wave + 1).flat();
      await update({
        wave,
        reason: `wave ${wave + 1} of ${rollout.waves.length} (${devices.join(', ')}) is taking version ${version}`,
      });
      for (const device of devices)
        await client.publishAsync(topics.deviceDesired(device), JSON.stringify(rollout.desired), {
          qos: 1,
          retain: true,
        });
      const deadline = Date.now() + settings.reportTimeoutMs;
      for (;;) {
        if (signal.aborted) return rollout;
        const verdict = judge(twins, devices, version);
        if (verdict.kind === 'failed') return await rollBack(verdict.reason);
        if (verdict.kind === 'running') break;
        if (Date.now() > deadline)
          return await rollBack(
            `${verdict.devices.join(', ')} did not report version ${version} running within ${settings.reportTimeoutMs} ms`,
          );
        await pause();
      }
      const last = wave === rollout.waves.length - 1;
      if (last) break;
      await update({
        reason: `wave ${wave + 1} of ${rollout.waves.length} runs version ${version}; baking ${settings.bakeMs} ms`,
      });
      const baked = Date.now() + settings.bakeMs;
      while (Date.now() < baked) {
        if (signal.aborted) return rollout;
        const verdict = judge(twins, before, version);
        if (verdict.kind === 'failed') return await rollBack(verdict.reason);
        if (verdict.kind === 'waiting')
          return await rollBack(
            `${verdict.devices.join(', ')} stopped running version ${version} during the bake`,
          );
        await pause();
      }
    }
    await publishDesired(client, topics, { ...rollout.desired, publishedAt: new Date().toISOString() });
    await clearDeviceDesired(client, topics, rollout.waves.flat());
    const previous = rollout.from.bundle;
    if (previous !== null && previous.sha256 !== rollout.desired.bundle?.sha256)
      await clearBundle(client, topics, previous);
    return await update({ state: 'complete', wave: rollout.waves.length, reason: null });
  } finally {
    client.off('message', onMessage);
    await client.unsubscribeAsync(reportedFilter).catch(() => undefined);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((settle) => setTimeout(settle, ms));
}
