/**
 * What the control plane and the devices say to each other over MQTT: the topics, and the zod
 * schemas of every message that crosses the broker (each side validates what it reads).
 *
 * - `{prefix}/groups/{group}/desired` (retained): the deployment a device group should run, with a
 *   version that grows by one with each publish, and the bundle's manifest (sha256, size, the
 *   sha256 of every chunk). A manifest of `null` means "run nothing".
 * - `{prefix}/bundles/{sha256}/{index}` (retained): one chunk of a bundle.
 * - `{prefix}/{device}/in/{stream}` → `{prefix}/{device}/out/{stream}`: scoring requests and results.
 * - `{prefix}/{device}/reported` (retained): the device's twin; `{prefix}/{device}/online`
 *   (retained, the broker publishes `false` as the device's will when its link drops).
 * - `{prefix}/{device}/desired` (retained, only during a rollout in waves): the desired state for
 *   one device of a wave that goes before its group; it wins over the group's while it is there.
 * - `{prefix}/groups/{group}/rollout` (retained): the group's last rollout in waves, its state and
 *   the reason (see rollout.ts).
 */
import { z } from 'zod';

const level = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** One topic level: no `/`, `+`, `#` or spaces, so it can never widen a subscription. */
export const topicLevelSchema = z.string().regex(level, 'expected letters, digits, ".", "_" or "-"');
export const topicPrefixSchema = z
  .string()
  .refine((value) => value.split('/').every((part) => level.test(part)), 'expected levels a/b/c');

/** The levels a device id cannot take, because the control plane's topics use them. */
const reservedDeviceIds = ['groups', 'bundles'];
export const deviceIdSchema = topicLevelSchema.refine(
  (value) => !reservedDeviceIds.includes(value),
  `a device id cannot be ${reservedDeviceIds.join(' or ')}`,
);

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/);

export const bundleManifestSchema = z.strictObject({
  sha256: sha256Schema,
  sizeBytes: z.number().int().nonnegative(),
  chunkBytes: z.number().int().positive(),
  /** The sha256 of each chunk, in order. */
  chunks: z.array(sha256Schema),
});
export type BundleManifest = z.infer<typeof bundleManifestSchema>;

export const deploymentRefSchema = z.strictObject({
  endpoint: z.string(),
  deployment: z.string(),
  model: z.strictObject({ name: z.string(), version: z.number().int() }),
});
export type DeploymentRef = z.infer<typeof deploymentRefSchema>;

export const desiredStateSchema = z.strictObject({
  schema: z.literal(1),
  version: z.number().int().positive(),
  group: z.string(),
  target: z.string(),
  publishedAt: z.string(),
  deployment: deploymentRefSchema.nullable(),
  bundle: bundleManifestSchema.nullable(),
});
export type DesiredState = z.infer<typeof desiredStateSchema>;

export const deviceStates = ['idle', 'downloading', 'starting', 'running', 'failed'] as const;
export type DeviceState = (typeof deviceStates)[number];

export const twinSchema = z.strictObject({
  schema: z.literal(1),
  device: z.string(),
  group: z.string(),
  state: z.enum(deviceStates),
  /** The last desired version the device received. */
  desiredVersion: z.number().int().nullable(),
  /** The desired version the device serves now. */
  runningVersion: z.number().int().nullable(),
  bundleSha256: z.string().nullable(),
  /** The last desired version this device refused or could not start (it keeps the running one). */
  failedVersion: z.number().int().nullable(),
  deployment: deploymentRefSchema.nullable(),
  health: z.enum(['ok', 'down']),
  /** Scoring requests answered (MQTT and local HTTP alike), bundles refused, versions that failed to start. */
  counters: z.strictObject({
    scored: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    refusedBundles: z.number().int().nonnegative(),
    failedStarts: z.number().int().nonnegative(),
  }),
  lastError: z.string().nullable(),
  reportedAt: z.string(),
});
export type Twin = z.infer<typeof twinSchema>;

export const rolloutStates = ['rolling', 'complete', 'rolled-back'] as const;
export type RolloutState = (typeof rolloutStates)[number];

/** A rollout in waves as the control plane records it (retained, so a restarted control plane resumes it). */
export const rolloutSchema = z.strictObject({
  schema: z.literal(1),
  group: z.string(),
  state: z.enum(rolloutStates),
  /** The version being rolled out, with its deployment and bundle. */
  desired: desiredStateSchema,
  /** The group's desired state the rollout started from, and goes back to on a rollback. */
  from: desiredStateSchema,
  /** Device ids, wave by wave (the last wave holds the rest of the group). */
  waves: z.array(z.array(z.string())),
  /** Devices whose link was down when the waves were planned: they take the version once it is the group's. */
  skipped: z.array(z.string()),
  /** Index of the wave being rolled out; `waves.length` once every wave is done. */
  wave: z.number().int().nonnegative(),
  reason: z.string().nullable(),
  startedAt: z.string(),
  updatedAt: z.string(),
});
export type Rollout = z.infer<typeof rolloutSchema>;

export interface Topics {
  desired(group: string): string;
  deviceDesired(device: string): string;
  rollout(group: string): string;
  chunk(sha256: string, index: number): string;
  input(device: string, stream: string): string;
  output(device: string, stream: string): string;
  reported(device: string): string;
  online(device: string): string;
}

export function topicsFor(prefix: string): Topics {
  return {
    desired: (group) => `${prefix}/groups/${group}/desired`,
    deviceDesired: (device) => `${prefix}/${device}/desired`,
    rollout: (group) => `${prefix}/groups/${group}/rollout`,
    chunk: (sha256, index) => `${prefix}/bundles/${sha256}/${index}`,
    input: (device, stream) => `${prefix}/${device}/in/${stream}`,
    output: (device, stream) => `${prefix}/${device}/out/${stream}`,
    reported: (device) => `${prefix}/${device}/reported`,
    online: (device) => `${prefix}/${device}/online`,
  };
}

/** Parses a message body as JSON against `schema`; undefined when it is empty or does not fit. */
export function readMessage<S extends z.ZodType>(schema: S, payload: Buffer): z.output<S> | undefined {
  if (payload.length === 0) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(payload.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
