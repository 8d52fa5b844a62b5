/**
 * A Kubernetes target's batch settings. Batch workers in the cluster join the cluster engine's
 * Redis queue (see batch-engine.ts for why), so the target names that Redis (`batchRedis`, as the
 * submitting machine reaches it, and `batchRedisInCluster` when the pods reach it at another
 * address), the image that runs `berth worker` (`batchImage`, else one berth builds:
 * worker-image.ts), and where the pods find the
 * inputs (`batchVolume`: the same path as on the submitting machine, from a PersistentVolumeClaim
 * or, without one, the node's own folder of that path).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseClusterAddress, queuePrefixSchema } from '../../batch/cluster/config.js';
import { defaultQueuePrefix } from '../../batch/cluster/names.js';

/** berth's own version (the worker image's default tag), from the package.json above this file. */
function berthVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'berth' && manifest.version !== undefined) return manifest.version;
    }
    const parent = dirname(dir);
    if (parent === dir) return '0.0.0';
    dir = parent;
  }
}

const redisAddress = z.string().superRefine((text, context) => {
  try {
    parseClusterAddress(text);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

const volumeSchema = z
  .string()
  .regex(
    /^\/[^=]*(=[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$/,
    'expected PATH or PATH=CLAIM: an absolute path, and a PersistentVolumeClaim name (DNS-1123 label)',
  );

/** The fields the target's zod schema gains (spread into kubernetesTargetConfigSchema). */
export const kubernetesBatchSettingsShape = {
  /** The Redis the batch workers share, as this machine reaches it: `redis://host:port[/db]`. Required for batch jobs. */
  batchRedis: redisAddress.optional(),
  /** The same Redis as the pods reach it (e.g. `redis://redis.ml.svc:6379`). Default: `batchRedis`. */
  batchRedisInCluster: redisAddress.optional(),
  /** Prefix of the Redis keys of this target's batch jobs. Default `berth`. */
  batchQueuePrefix: queuePrefixSchema.optional(),
  /**
   * The image whose `berth` runs the workers (its `berth` must be this version). Default: berth
   * builds one (worker-image.ts) and pushes it to `registry`; with `buildImage: false`,
   * `<registry>/berth-worker:<berth version>` (`berth/…` without a registry), expected there already.
   */
  batchImage: z.string().min(1).optional(),
  /** `PATH` or `PATH=CLAIM`: the inputs and output folder, mounted at PATH in every worker pod. Default: none. */
  batchVolume: volumeSchema.optional(),
};

/**
 * The worker image: one given (a name, run as `berth worker …`), or `build`: berth builds it from
 * the target's base image and names it by its contents (worker-image.ts).
 */
export type WorkerImageSetting = { kind: 'given'; name: string } | { kind: 'build' };

export interface KubernetesBatchSettings {
  redis: string;
  redisInCluster: string;
  queuePrefix: string;
  image: WorkerImageSetting;
  volume: { path: string; claim: string | undefined } | undefined;
}

interface BatchInput {
  registry?: string | undefined;
  buildImage?: boolean | undefined;
  batchRedis?: string | undefined;
  batchRedisInCluster?: string | undefined;
  batchQueuePrefix?: string | undefined;
  batchImage?: string | undefined;
  batchVolume?: string | undefined;
}

export function resolveKubernetesBatchSettings(config: BatchInput): KubernetesBatchSettings | undefined {
  if (config.batchRedis === undefined) return undefined;
  let volume: KubernetesBatchSettings['volume'];
  if (config.batchVolume !== undefined) {
    const [path = '', claim] = config.batchVolume.split('=');
    volume = { path: isAbsolute(path) ? path.replace(/(.)\/+$/, '$1') : path, claim };
  }
  const registry = config.registry?.replace(/\/+$/, '') ?? 'berth';
  return {
    redis: config.batchRedis,
    redisInCluster: config.batchRedisInCluster ?? config.batchRedis,
    queuePrefix: config.batchQueuePrefix ?? defaultQueuePrefix,
    image:
      config.batchImage !== undefined
        ? { kind: 'given', name: config.batchImage }
        : config.buildImage === false
          ? { kind: 'given', name: `${registry}/berth-worker:${berthVersion()}` }
          : { kind: 'build' },
    volume,
  };
}
