/**
 * What a device group looks like from the broker: the desired state and, per device, its last
 * twin and whether its link is up. `berth edge status` prints it; the target's status() reads it.
 */
import type { MqttClient } from 'mqtt';
import { readRetained } from './publish.js';
import {
  desiredStateSchema,
  readMessage,
  rolloutSchema,
  twinSchema,
  type DesiredState,
  type Rollout,
  type Twin,
} from './protocol.js';

export interface DeviceView {
  device: string;
  /** The broker's word on the device's link: true after it connected, false once its will fired. */
  online: boolean | undefined;
  twin: Twin;
}

export interface FleetView {
  group: string;
  desired: DesiredState | undefined;
  /** The group's last rollout in waves, if it had one. */
  rollout: Rollout | undefined;
  devices: DeviceView[];
}

export async function readFleet(
  client: MqttClient,
  prefix: string,
  group: string,
  windowMs: number,
): Promise<FleetView> {
  const desiredTopic = `${prefix}/groups/${group}/desired`;
  const rolloutTopic = `${prefix}/groups/${group}/rollout`;
  const retained = await readRetained(
    client,
    [desiredTopic, rolloutTopic, `${prefix}/+/reported`, `${prefix}/+/online`],
    windowMs,
  );
  const desiredPayload = retained.get(desiredTopic);
  const desired = desiredPayload === undefined ? undefined : readMessage(desiredStateSchema, desiredPayload);
  const rolloutPayload = retained.get(rolloutTopic);
  const rollout = rolloutPayload === undefined ? undefined : readMessage(rolloutSchema, rolloutPayload);
  const devices: DeviceView[] = [];
  for (const [topic, payload] of retained) {
    if (!topic.endsWith('/reported')) continue;
    const twin = readMessage(twinSchema, payload);
    if (twin === undefined || twin.group !== group) continue;
    const link = retained.get(`${prefix}/${twin.device}/online`)?.toString('utf8');
    devices.push({ device: twin.device, online: link === undefined ? undefined : link === 'true', twin });
  }
  devices.sort((a, b) => a.device.localeCompare(b.device));
  return { group, desired, rollout, devices };
}
