/**
 * The image a container job runs in: the target's base image, then, for a job that asks for Python
 * (../python-environment.ts), the Python layer a deployment's `.py` scoring script gets (Debian's
 * python3 and the requirements' packages, from this machine: see targets/container/python-layer.ts),
 * then one thin job layer. Each layer is found by its `berth.key` label and built only when
 * missing, never pulled, by the container target's own image builder. The code is not in the
 * image: the run folder is mounted, so a code change rebuilds nothing and everything the command
 * writes lands in the run's history as it is written.
 */
import { createHash } from 'node:crypto';
import { BerthError } from '../../core/errors.js';
import type { ImageLayer } from '../../targets/container/build-context.js';
import { engineError, type Engine } from '../../targets/container/engine.js';
import { ensureImage } from '../../targets/container/image.js';
import { pythonLayer } from '../../targets/container/python-layer.js';
import type { PythonRequirement } from '../../targets/container/python-requirements.js';

/** Where the run folder is mounted, and so where the command's paths point. */
export const runDirInContainer = '/berth/run';
export const inputsDirInContainer = '/berth/inputs';

const instructions = [
  `ENV PYTHONUNBUFFERED=1 PYTHONPATH=${runDirInContainer}/sdk/python`,
  `WORKDIR ${runDirInContainer}/code`,
];

function sha256(...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part}\0`);
  return hash.digest('hex');
}

/** The job layer's key, from the layer below it (the base image's name, or the Python layer's key). */
export function jobImageKey(below: string): string {
  return sha256('job', below, ...instructions);
}

async function requireBaseImage(engine: Engine, dockerHost: string, baseImage: string): Promise<void> {
  try {
    await engine.getImage(baseImage).inspect();
  } catch (error) {
    if ((error as { statusCode?: unknown }).statusCode === 404)
      throw new BerthError(
        'NOT_FOUND',
        `the base image ${baseImage} is not on the Docker Engine at ${dockerHost}, and berth never pulls: ` +
          `load or build it there, or give the target another --base-image`,
      );
    throw engineError(dockerHost, `cannot inspect the base image ${baseImage}`, error);
  }
}

export interface JobImageOptions {
  baseImage: string;
  /** Undefined: no Python layer. */
  python: { requirements: readonly PythonRequirement[] } | undefined;
  /** Where the Python layer's file list is cached (the target's cacheDir). */
  cacheDir: string;
  progress: (line: string) => void;
}

/** The job image's tag, with the layers the engine lacks built from `baseImage`. */
export async function ensureJobImage(
  engine: Engine,
  dockerHost: string,
  options: JobImageOptions,
): Promise<string> {
  const { baseImage } = options;
  await requireBaseImage(engine, dockerHost, baseImage);
  const layers: ImageLayer[] = [];
  let below = baseImage;
  if (options.python !== undefined) {
    const python = await pythonLayer(
      sha256('job-base', baseImage),
      options.python.requirements,
      options.cacheDir,
    );
    for (const warning of python.warnings) options.progress(`warning: ${warning}`);
    layers.push({
      ...python.layer,
      labels: { 'berth.managed': 'true', 'berth.base-image': baseImage, ...python.layer.labels },
    });
    below = python.layer.key;
  }
  const key = jobImageKey(below);
  layers.push({
    name: 'job',
    key,
    instructions,
    files: [],
    labels: {
      'berth.managed': 'true',
      'berth.layer': 'job',
      'berth.base-image': baseImage,
      'berth.key': key,
    },
  });
  const image = await ensureImage(
    engine,
    dockerHost,
    { baseImage, layers, key, warnings: [] },
    options.progress,
  );
  return image.tag;
}
