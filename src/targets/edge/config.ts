/**
 * The edge target's configuration: validated once with zod (`edgeTargetConfigSchema`, one member
 * of the target-config union keyed by `kind`) and resolved with every default filled in.
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { nameSchema } from '../../core/names.js';
import { validateTargetConfig } from '../shared/config.js';
import { topicLevelSchema, topicPrefixSchema } from './protocol.js';

/** A wave's size: a number of devices, or a percentage of the group ("25%", rounded up). */
export const waveSizeSchema = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^(100|[1-9]?[0-9](\.[0-9]+)?)%$/, 'expected a number of devices or a percentage such as "25%"')
    .refine((value) => Number(value.slice(0, -1)) > 0, 'a wave of 0% holds no device'),
]);
export type WaveSize = z.infer<typeof waveSizeSchema>;

/**
 * A new version goes to the group in waves: each wave must report it running and healthy (and stay
 * so for `bakeMs`) before the next wave gets it; a failed start, or a wave that does not report
 * within `reportTimeoutMs`, rolls the whole group back to the version it ran before.
 */
export const rolloutSettingsSchema = z.strictObject({
  /** The size of each wave before the last, in order; the last wave is the rest of the group. */
  waves: z.array(waveSizeSchema).min(1),
  /** How long a wave must stay running and healthy before the next one starts. Default 30000 ms. */
  bakeMs: z.number().int().nonnegative().default(30_000),
  /** How long each device of a wave has to report the new version running. Default 300000 ms. */
  reportTimeoutMs: z.number().int().positive().default(300_000),
});

export interface ResolvedRollout {
  waves: WaveSize[];
  bakeMs: number;
  reportTimeoutMs: number;
}

export const edgeTargetConfigSchema = z.strictObject({
  kind: z.literal('edge'),
  /** The target's name in handles and specs. Default 'edge'. */
  name: nameSchema.default('edge'),
  /** The MQTT broker the devices and the control plane share: mqtt://host:port or mqtts://host:port. */
  broker: z
    .string()
    .regex(/^mqtts?:\/\/[^/\s]+\/?$/, 'expected mqtt://host:port or mqtts://host:port')
    .default('mqtt://127.0.0.1:1883'),
  /** The device group a deployment is desired for; devices join one with `--group`. Default 'default'. */
  deviceGroup: topicLevelSchema.default('default'),
  /** PEM file of the CA that signed an mqtts broker's certificate. Default: the system's CAs. */
  caFile: z.string().min(1).optional(),
  /** The first topic level of every berth topic (several fleets can share a broker). Default 'berth'. */
  topicPrefix: topicPrefixSchema.default('berth'),
  /** Bundles are built and kept here. Default: `<tmp>/berth-edge/<name>`. */
  workDir: z.string().min(1).optional(),
  /** Size of one bundle chunk message. Default 262144 bytes (256 KiB). */
  chunkBytes: z
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(256 * 1024),
  /** How long status() listens for the devices' retained reports. Default 1500 ms. */
  statusWindowMs: z.number().int().positive().default(1500),
  /**
   * Roll a new version out in waves, with automatic rollback. Default: none (every device takes a
   * new version when it sees it, and a device whose new version fails keeps its running one).
   */
  rollout: rolloutSettingsSchema.optional(),
});

export type EdgeTargetConfig = z.input<typeof edgeTargetConfigSchema>;

export interface ResolvedEdgeTargetConfig {
  kind: 'edge';
  name: string;
  broker: string;
  deviceGroup: string;
  caFile: string | undefined;
  topicPrefix: string;
  workDir: string;
  chunkBytes: number;
  statusWindowMs: number;
  rollout: ResolvedRollout | undefined;
}

export function resolveEdgeTargetConfig(input: unknown): ResolvedEdgeTargetConfig {
  const config = validateTargetConfig(edgeTargetConfigSchema, input, 'edge target config');
  return {
    kind: 'edge',
    name: config.name,
    broker: config.broker,
    deviceGroup: config.deviceGroup,
    caFile: config.caFile === undefined ? undefined : resolve(config.caFile),
    topicPrefix: config.topicPrefix,
    workDir: resolve(config.workDir ?? join(tmpdir(), 'berth-edge', config.name)),
    chunkBytes: config.chunkBytes,
    statusWindowMs: config.statusWindowMs,
    rollout: config.rollout,
  };
}
