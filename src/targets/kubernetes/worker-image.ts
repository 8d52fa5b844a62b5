/**
 * The batch worker image a Kubernetes target builds when no `batchImage` is given: the target's
 * base image (Node.js 20) with `berth worker` bundled into one folder (src/cli/worker-main.ts,
 * bundled as the scoring server is, with ONNX Runtime and esbuild beside it). One layer, named
 * `<registry>/berth-worker:<key>` where the key covers the base image, the bundle's bytes and the
 * instructions, so a new berth is a new tag and the nodes never run a stale worker under an old
 * one. Built on $DOCKER_HOST and pushed like the deployment image (image.ts).
 *
 * What it does not carry: Python (a `.py` scoring script needs an image of the user's with
 * python3, given as `batchImage`), the rest of the CLI, and any workspace.
 */
import { createHash } from 'node:crypto';
import type { ImagePlan } from '../container/build-context.js';
import { folderEntries } from '../container/build-context.js';
import { workerBundle } from '../container/bundle.js';
import type { Progress } from '../target.js';
import type { ResolvedKubernetesTargetConfig } from './config.js';
import { publishImage } from './image.js';

export const workerDirInImage = '/berth/worker';
/** What the Job's container runs in a berth-built image; the Job's args start with `worker`. */
export const builtWorkerCommand = ['node', `${workerDirInImage}/main.js`];

const instructions = [
  `COPY worker/ ${workerDirInImage}/`,
  `ENV NODE_ENV=production ESBUILD_BINARY_PATH=${workerDirInImage}/node_modules/@esbuild/linux-x64/bin/esbuild`,
  `CMD ${JSON.stringify([...builtWorkerCommand, 'worker', '--help'])}`,
];

type WorkerImageConfig = Pick<ResolvedKubernetesTargetConfig, 'registry' | 'baseImage' | 'cacheDir'>;

export interface WorkerImage {
  name: string;
  plan: ImagePlan;
}

/** The image's name and plan, from the bundle (made once per process) and the base image; nothing built. */
export async function planWorkerImage(config: WorkerImageConfig): Promise<WorkerImage> {
  const bundle = await workerBundle(config.cacheDir);
  const hash = createHash('sha256');
  for (const part of ['worker', config.baseImage, bundle.sha256, ...instructions]) hash.update(`${part}\0`);
  const key = hash.digest('hex');
  const repository = config.registry === undefined ? 'berth/berth-worker' : `${config.registry}/berth-worker`;
  return {
    name: `${repository}:${key.slice(0, 32)}`,
    plan: {
      baseImage: config.baseImage,
      key,
      warnings: [],
      layers: [
        {
          name: 'worker',
          key,
          instructions,
          files: await folderEntries(bundle.dir, 'worker'),
          labels: {
            'berth.managed': 'true',
            'berth.layer': 'worker',
            'berth.key': key,
            'berth.base-image': config.baseImage,
            'berth.server-version': bundle.version,
            'berth.server-sha256': bundle.sha256,
          },
        },
      ],
    },
  };
}

/** Builds the worker image where the engine lacks it, tags it, and pushes it to the target's registry. */
export async function publishWorkerImage(
  config: WorkerImageConfig,
  image: WorkerImage,
  progress: Progress,
): Promise<void> {
  await publishImage(image.plan, config.registry, image.name, progress);
}
