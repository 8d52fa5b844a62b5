/**
 * The control plane's side of the broker: publish a bundle's chunks and a group's desired state
 * (both retained, QoS 1), read the desired state back, and clear what a removed deployment left.
 */
import { open } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import {
  desiredStateSchema,
  readMessage,
  type BundleManifest,
  type DesiredState,
  type Topics,
} from './protocol.js';

/** Publishes every chunk of `file` on its retained topic, one at a time (each acknowledged). */
export async function publishBundle(
  client: MqttClient,
  topics: Topics,
  file: string,
  manifest: BundleManifest,
): Promise<void> {
  const handle = await open(file, 'r');
  try {
    for (let index = 0; index < manifest.chunks.length; index += 1) {
      const buffer = Buffer.alloc(
        Math.min(manifest.chunkBytes, manifest.sizeBytes - index * manifest.chunkBytes),
      );
      await handle.read(buffer, 0, buffer.length, index * manifest.chunkBytes);
      await client.publishAsync(topics.chunk(manifest.sha256, index), buffer, { qos: 1, retain: true });
    }
  } finally {
    await handle.close();
  }
}

/** Clears a bundle's retained chunks (an empty retained message deletes one). */
export async function clearBundle(
  client: MqttClient,
  topics: Topics,
  manifest: BundleManifest,
): Promise<void> {
  for (let index = 0; index < manifest.chunks.length; index += 1) {
    await client.publishAsync(topics.chunk(manifest.sha256, index), Buffer.alloc(0), {
      qos: 1,
      retain: true,
    });
  }
}

export async function publishDesired(
  client: MqttClient,
  topics: Topics,
  desired: DesiredState,
): Promise<void> {
  await client.publishAsync(topics.desired(desired.group), JSON.stringify(desired), { qos: 1, retain: true });
}

/**
 * Every retained message on `filters`, gathered for `windowMs` after the subscription is granted
 * (the broker sends retained messages right after the grant).
 */
export async function readRetained(
  client: MqttClient,
  filters: string | string[],
  windowMs: number,
): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  const onMessage = (topic: string, payload: Buffer, packet: { retain: boolean }): void => {
    if (packet.retain) found.set(topic, payload);
  };
  client.on('message', onMessage);
  try {
    await client.subscribeAsync(filters, { qos: 1 });
    await new Promise((settle) => setTimeout(settle, windowMs));
    await client.unsubscribeAsync(filters);
  } finally {
    client.off('message', onMessage);
  }
  return found;
}

export async function readDesired(
  client: MqttClient,
  topics: Topics,
  group: string,
  windowMs: number,
): Promise<DesiredState | undefined> {
  const topic = topics.desired(group);
  const payload = (await readRetained(client, topic, windowMs)).get(topic);
  return payload === undefined ? undefined : readMessage(desiredStateSchema, payload);
}
