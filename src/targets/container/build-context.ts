/**
 * What an image is made of, as three layers in the order they change least to most: the scoring
 * server (bundle + runtime packages) on the base image, the model, then the code and the scoring
 * options. Each layer is its own image, built `FROM` the one before and keyed by the sha256 of
 * its inputs, so a code-only change sends only the code to the engine and builds one small layer.
 *
 * The same layers make the single-Dockerfile build context `berth package --output` writes.
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { scoringProcessEnv, scoringProcessFlags } from '../../core/heap-headroom.js';
import type { ScoringOptions } from '../../scoring/options.js';
import { scoringOptionsFor } from '../shared/scoring-options.js';
import type { ResolvedDeployment } from '../target.js';
import { isPythonScript } from '../../scoring/runtimes/python/index.js';
import { esbuildBinaryInImage, hashFolder, serverDirInImage, type ServerBundle } from './bundle.js';
import { deploymentRequirements, pythonLayer } from './python-layer.js';
import type { TarEntry } from './tar.js';

export const containerPort = 5001;
export const modelDirInImage = '/berth/model';
export const codeDirInImage = '/berth/code';
export const configFileInImage = '/berth/config/scoring.json';

/**
 * `job`: a command job's image (src/jobs/container/image.ts), on the base or on the python layer;
 * `worker`: a Kubernetes target's batch worker image (src/targets/kubernetes/worker-image.ts);
 * `gateway`: the Kubernetes target's in-cluster gateway (kubernetes/gateway-image.ts), on the base.
 */
export type LayerName = 'server' | 'python' | 'model' | 'app' | 'job' | 'worker' | 'gateway';

export interface ImageLayer {
  name: LayerName;
  /** sha256 of this layer's inputs and of every layer below it. */
  key: string;
  /** Dockerfile instructions after FROM. */
  instructions: string[];
  /** Files, with paths relative to the build context. */
  files: TarEntry[];
  /** berth.* labels the layer's image carries. */
  labels: Record<string, string>;
}

export interface ImagePlan {
  baseImage: string;
  /** server, python (for a `.py` scoring script), model, app: the app layer is last. */
  layers: ImageLayer[];
  /** The app layer's key: two deploys with the same key run the same image. */
  key: string;
  /** What the plan could not honour as written (e.g. a requirement's version). */
  warnings: string[];
}

function sha256(...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part}\0`);
  return hash.digest('hex');
}

function toPosix(path: string): string {
  return path.split(sep).join('/');
}

/** Every file under `dir` as tar entries under `prefix/`, sorted, so the context is deterministic. */
export async function folderEntries(dir: string, prefix: string): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  const visit = async (folder: string): Promise<void> => {
    const entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    for (const entry of entries) {
      const path = join(folder, entry.name);
      const inside = posix.join(prefix, toPosix(relative(dir, path)));
      if (entry.isDirectory()) {
        if (entry.name === '.git') continue;
        out.push({ path: inside, kind: 'dir' });
        await visit(path);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        out.push({ path: inside, kind: 'file', source: path });
      }
    }
  };
  await visit(dir);
  return out;
}

async function listing(entries: readonly TarEntry[]): Promise<string> {
  const parts: string[] = [];
  for (const entry of entries) {
    if (entry.kind === 'file') parts.push(`${entry.path}:${(await stat(entry.source)).size}`);
  }
  return parts.join('\n');
}

/** The scoring options a container runs with: the local target's, with the image's own paths. */
export function containerScoringOptions(spec: ResolvedDeployment): ScoringOptions {
  const options = scoringOptionsFor(spec, '0.0.0.0', '/berth/data');
  const inImage = (from: string, to: string, path: string | undefined): string | undefined =>
    path === undefined ? undefined : posix.join(to, toPosix(relative(from, path)));
  const model = spec.model;
  return {
    ...options,
    port: containerPort,
    models: [
      {
        name: model.name,
        version: model.version,
        framework: model.framework,
        modelDir: modelDirInImage,
        modelFile: inImage(model.modelDir, modelDirInImage, model.modelFile),
        signature: model.signature,
      },
    ],
    scoringScript:
      spec.codeDir === undefined ? undefined : inImage(spec.codeDir, codeDirInImage, spec.scoringScript),
  };
}

const healthCommand = `require('http').get('http://127.0.0.1:${containerPort}/',(r)=>process.exit(r.statusCode<400?0:1)).on('error',()=>process.exit(1))`;

/** The command a container runs, and the engine-side health check on the liveness route. */
export const serverCommand = [
  'node',
  ...scoringProcessFlags(),
  `${serverDirInImage}/main.js`,
  '--config',
  configFileInImage,
];
export const healthCheckCommand = ['CMD', 'node', '-e', healthCommand];

const serverInstructions = [
  `COPY server/ ${serverDirInImage}/`,
  `ENV ${Object.entries(scoringProcessEnv)
    .map(([name, value]) => `${name}=${value} `)
    .join(
      '',
    )}NODE_ENV=production ESBUILD_BINARY_PATH=${esbuildBinaryInImage} AZUREML_MODEL_DIR=${modelDirInImage} BERTH_MODEL_DIR=${modelDirInImage}`,
  `WORKDIR ${codeDirInImage}`,
  `EXPOSE ${containerPort}`,
  `CMD ${JSON.stringify(serverCommand)}`,
];
const modelInstructions = [`COPY model/ ${modelDirInImage}/`];
// One COPY for the code and the options: each step costs the classic builder a container.
const appInstructions = ['COPY app/ /berth/'];

export async function planImage(
  spec: ResolvedDeployment,
  bundle: ServerBundle,
  baseImage: string,
  cacheDir: string,
): Promise<ImagePlan> {
  const config = `${JSON.stringify(containerScoringOptions(spec), null, 2)}\n`;
  const codeSha = spec.codeDir === undefined ? 'none' : await hashFolder(spec.codeDir);
  const configSha = sha256(config);
  // Each key covers the layer's instructions too, so a berth that writes them differently never
  // reuses an image an older one built.
  const serverKey = sha256('server', baseImage, bundle.sha256, ...serverInstructions);
  const python = isPythonScript(spec.scoringScript)
    ? await pythonLayer(serverKey, deploymentRequirements(spec), cacheDir)
    : undefined;
  const belowModel = python?.layer.key ?? serverKey;
  const modelFiles = await folderEntries(spec.model.modelDir, 'model');
  // The artifact's sha256 names the model; its file names and sizes guard against a caller that
  // passes the same sha256 for different files (they cost a stat each, not a read).
  const modelKey = sha256(
    'model',
    belowModel,
    spec.model.sha256,
    await listing(modelFiles),
    ...modelInstructions,
  );
  const appKey = sha256('app', modelKey, codeSha, configSha, ...appInstructions);
  const common = {
    'berth.managed': 'true',
    'berth.base-image': baseImage,
    'berth.server-version': bundle.version,
    'berth.server-sha256': bundle.sha256,
  };
  const model = {
    'berth.model': `${spec.model.name}:${spec.model.version}`,
    'berth.model-sha256': spec.model.sha256,
  };
  return {
    baseImage,
    key: appKey,
    warnings: python?.warnings ?? [],
    layers: [
      {
        name: 'server',
        key: serverKey,
        instructions: serverInstructions,
        files: await folderEntries(bundle.dir, 'server'),
        labels: { ...common, 'berth.layer': 'server', 'berth.key': serverKey },
      },
      ...(python === undefined ? [] : [{ ...python.layer, labels: { ...common, ...python.layer.labels } }]),
      {
        name: 'model',
        key: modelKey,
        instructions: modelInstructions,
        files: modelFiles,
        labels: { ...common, ...model, 'berth.layer': 'model', 'berth.key': modelKey },
      },
      {
        name: 'app',
        key: appKey,
        instructions: appInstructions,
        files: [
          { path: 'app', kind: 'dir' },
          ...(spec.codeDir === undefined ? [] : await folderEntries(spec.codeDir, 'app/code')),
          { path: 'app/config', kind: 'dir' },
          { path: `app/config/${posix.basename(configFileInImage)}`, kind: 'data', data: config },
        ],
        labels: {
          ...common,
          ...model,
          'berth.layer': 'app',
          'berth.key': appKey,
          'berth.code-sha256': codeSha,
          'berth.config-sha256': configSha,
        },
      },
    ],
  };
}

/** The tag a layer's image gets, e.g. `berth/model:3f2a…` (16 hex digits of its key). */
export function layerTag(layer: Pick<ImageLayer, 'name' | 'key'>): string {
  return `berth/${layer.name}:${layer.key.slice(0, 16)}`;
}

/** One LABEL instruction for all of a layer's labels (the build API's `labels` adds a step each). */
function labelInstruction(labels: Record<string, string>): string {
  return `LABEL ${Object.entries(labels)
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join(' ')}`;
}

export function layerDockerfile(from: string, layer: ImageLayer): string {
  return [`FROM ${from}`, ...layer.instructions, labelInstruction(layer.labels), ''].join('\n');
}

/** One build context with every layer in one Dockerfile: what `berth package --output` writes. */
export function combinedContext(plan: ImagePlan): TarEntry[] {
  const dockerfile = [
    '# Written by berth package: the scoring server, the model, the code and the scoring options.',
    `FROM ${plan.baseImage}`,
    ...plan.layers.flatMap((layer) => layer.instructions),
    `HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ${JSON.stringify(healthCheckCommand.slice(1))}`,
    labelInstruction(plan.layers[plan.layers.length - 1]!.labels),
    '',
  ].join('\n');
  return [
    { path: 'Dockerfile', kind: 'data', data: dockerfile },
    ...plan.layers.flatMap((layer) => layer.files),
  ];
}
