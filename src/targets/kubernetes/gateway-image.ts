/**
 * The gateway pods' image: the target's base image (Node) and one layer with the gateway bundled
 * by esbuild into one file (src/endpoints/in-cluster-main.ts with berth's endpoint gateway and the Kubernetes
 * client), named `<registry>/berth-gateway:<key>` where the key covers the base image, the bundle
 * and the layer's instructions. It holds no model and no deployment's code, so one image serves
 * every endpoint of every deployment, and is rebuilt only when berth's gateway changes. Built on
 * the Docker Engine like the deployments' images (container/image.ts: found by its `berth.key`
 * label, built only when missing) and pushed once per process.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { folderEntries, type ImageLayer, type ImagePlan } from '../container/build-context.js';
import { cachedBundle } from '../container/bundle.js';
import type { Progress } from '../target.js';
import type { ResolvedKubernetesTargetConfig } from './config.js';
import { gatewayHealthPort, gatewayPort } from './gateway-manifests.js';
import { publishImage } from './image.js';

type GatewayImageConfig = Pick<
  ResolvedKubernetesTargetConfig,
  'registry' | 'baseImage' | 'cacheDir' | 'buildImage' | 'gatewayImage'
>;

const here = dirname(fileURLToPath(import.meta.url));
export const gatewayDirInImage = '/berth/gateway';

const instructions = [
  `COPY gateway/ ${gatewayDirInImage}/`,
  'ENV NODE_ENV=production',
  `EXPOSE ${gatewayPort} ${gatewayHealthPort}`,
  `CMD ["node", "${gatewayDirInImage}/main.js"]`,
];

async function writeBundle(dir: string): Promise<void> {
  await build({
    // The entry is src/endpoints/in-cluster-main.ts, bundled by path (targets do not import endpoints).
    entryPoints: { main: join(here, '..', '..', 'endpoints', 'in-cluster-main.js') },
    outdir: dir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: false,
    legalComments: 'none',
    logLevel: 'silent',
    // CommonJS packages the Kubernetes client uses call require(); an ES module has none until it is made.
    banner: {
      js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);",
    },
  });
  await writeFile(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'berth-gateway', type: 'module', private: true }, null, 2)}\n`,
  );
}

/** The gateway bundle under `cacheDir`, built once per process (named by its sha256). */
export function gatewayBundle(cacheDir: string): Promise<{ dir: string; sha256: string }> {
  return cachedBundle(cacheDir, 'gateway', 'the gateway', writeBundle);
}

export async function planGatewayImage(config: GatewayImageConfig): Promise<ImagePlan> {
  const bundle = await gatewayBundle(config.cacheDir);
  const key = createHash('sha256')
    .update(['gateway', config.baseImage, bundle.sha256, ...instructions].join('\0'))
    .digest('hex');
  const layer: ImageLayer = {
    name: 'gateway',
    key,
    instructions,
    files: await folderEntries(bundle.dir, 'gateway'),
    labels: {
      'berth.managed': 'true',
      'berth.layer': 'gateway',
      'berth.base-image': config.baseImage,
      'berth.key': key,
    },
  };
  return { baseImage: config.baseImage, layers: [layer], key, warnings: [] };
}

/** The gateway image's name: `gatewayImage` when set, else from the key (nothing is built). */
export async function gatewayImageName(config: GatewayImageConfig): Promise<string> {
  if (config.gatewayImage !== undefined) return config.gatewayImage;
  const { key } = await planGatewayImage(config);
  const repository = config.registry === undefined ? 'berth/gateway' : `${config.registry}/berth-gateway`;
  return `${repository}:${key.slice(0, 32)}`;
}

const pushed = new Set<string>();

/**
 * The gateway image, built and pushed when berth builds images (`buildImage`) and no
 * `gatewayImage` names one; once per process and image name.
 */
export async function ensureGatewayImage(config: GatewayImageConfig, progress: Progress): Promise<string> {
  const name = await gatewayImageName(config);
  if (config.gatewayImage !== undefined || !config.buildImage || pushed.has(name)) return name;
  await publishImage(await planGatewayImage(config), config.registry, name, progress);
  pushed.add(name);
  return name;
}
