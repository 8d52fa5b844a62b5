/**
 * The container target's configuration: validated once with zod (`containerTargetConfigSchema`,
 * one member of the target-config union keyed by `kind`) and resolved into
 * `ResolvedContainerTargetConfig` with every default filled in.
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { BerthError } from '../../core/errors.js';
import { nameSchema } from '../../core/names.js';
import { validateTargetConfig } from '../shared/config.js';

const ms = z.number().int().nonnegative();

/** The official Node.js image the scoring server runs on unless a target says otherwise. */
export const defaultBaseImage = 'node:20-bookworm-slim';
export const defaultDockerHost = 'unix:///var/run/docker.sock';

export const containerTargetConfigSchema = z.strictObject({
  kind: z.literal('container'),
  /** The target's name in handles, labels and specs. Default 'container'. */
  name: nameSchema.default('container'),
  /**
   * The Docker Engine: `unix:///path/to/docker.sock` or `tcp://host:port` (plain HTTP). Default:
   * `$DOCKER_HOST`, else unix:///var/run/docker.sock.
   */
  dockerHost: z.string().min(1).optional(),
  /** The image the scoring server runs on: it must have `node` (20+) on its PATH. Default node:20-bookworm-slim. */
  baseImage: z.string().min(1).default(defaultBaseImage),
  /** The host interface container ports are published on. Default 127.0.0.1 (this machine only). */
  publishHost: z.string().min(1).default('127.0.0.1'),
  /**
   * The host name replica URLs use. Default: publishHost, or the engine's host for a tcp:// engine
   * publishing on 0.0.0.0.
   */
  replicaHost: z.string().min(1).optional(),
  /** Where the bundled scoring server is kept between deploys. Default: `<tmp>/berth-container`. */
  cacheDir: z.string().min(1).optional(),
  /** How long a container may take from start to ready. Default 120000 ms. */
  startTimeoutMs: ms.positive().default(120_000),
  /** The engine's restart policy for a container whose process exits. Default on-failure. */
  restartPolicy: z.enum(['no', 'on-failure', 'always', 'unless-stopped']).default('on-failure'),
  /**
   * After a rolling switch, how long old containers keep serving before they stop, so a request
   * routed just before the switch still lands. Default 300 ms.
   */
  switchGraceMs: ms.default(300),
  /** How long an API call other than a build may take. Default 60000 ms. */
  apiTimeoutMs: ms.positive().default(60_000),
});

export type ContainerTargetConfig = z.input<typeof containerTargetConfigSchema>;

export interface ResolvedContainerTargetConfig {
  kind: 'container';
  name: string;
  dockerHost: string;
  baseImage: string;
  publishHost: string;
  replicaHost: string;
  cacheDir: string;
  startTimeoutMs: number;
  restartPolicy: 'no' | 'on-failure' | 'always' | 'unless-stopped';
  switchGraceMs: number;
  apiTimeoutMs: number;
}

function defaultReplicaHost(dockerHost: string, publishHost: string): string {
  if (publishHost !== '0.0.0.0' && publishHost !== '::') return publishHost;
  if (dockerHost.startsWith('tcp://')) return new URL(dockerHost.replace(/^tcp:/, 'http:')).hostname;
  return '127.0.0.1';
}

export function resolveContainerTargetConfig(input: unknown): ResolvedContainerTargetConfig {
  const config = validateTargetConfig(containerTargetConfigSchema, input, 'container target config');
  const dockerHost = config.dockerHost ?? process.env.DOCKER_HOST ?? defaultDockerHost;
  if (!/^(unix|tcp|http):\/\//.test(dockerHost)) {
    throw new BerthError(
      'INVALID_SPEC',
      `container target config: dockerHost must be unix:///path or tcp://host:port, not ${dockerHost}`,
    );
  }
  return {
    kind: 'container',
    name: config.name,
    dockerHost,
    baseImage: config.baseImage,
    publishHost: config.publishHost,
    replicaHost: config.replicaHost ?? defaultReplicaHost(dockerHost, config.publishHost),
    cacheDir: resolve(config.cacheDir ?? join(tmpdir(), 'berth-container')),
    startTimeoutMs: config.startTimeoutMs,
    restartPolicy: config.restartPolicy,
    switchGraceMs: config.switchGraceMs,
    apiTimeoutMs: config.apiTimeoutMs,
  };
}
