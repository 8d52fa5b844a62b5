/**
 * Images through the Engine API: each layer of a plan is looked up by its `berth.key` label and
 * built only when missing, `FROM` the layer below. Build output streams to the caller's progress
 * callback step by step; a failed build is reported with the step that failed and its last lines
 * of output, not a generic error.
 */
import { BerthError, toBerthError } from '../../core/errors.js';
import type { Progress } from '../target.js';
import { layerDockerfile, layerTag, type ImageLayer, type ImagePlan } from './build-context.js';
import { connectEngine, engineError, type Engine } from './engine.js';
import { tarStream } from './tar.js';

export interface ImageResult {
  /** The app image's tag: what containers run. */
  tag: string;
  /** The layers built by this call (the others were reused). */
  built: ImageLayer['name'][];
}

interface BuildMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

/** The tag of an image carrying `berth.key=<key>`, or undefined. */
export async function findImage(
  engine: Engine,
  dockerHost: string,
  key: string,
): Promise<string | undefined> {
  try {
    const images = await engine.listImages({ filters: JSON.stringify({ label: [`berth.key=${key}`] }) });
    const image = images[0];
    if (image === undefined) return undefined;
    return image.RepoTags?.find((tag) => tag !== '<none>:<none>') ?? image.Id;
  } catch (error) {
    throw engineError(dockerHost, 'cannot list images', error);
  }
}

async function buildLayer(
  dockerHost: string,
  from: string,
  layer: ImageLayer,
  progress: Progress,
): Promise<string> {
  const tag = layerTag(layer);
  const context = tarStream([
    { path: 'Dockerfile', kind: 'data', data: layerDockerfile(from, layer) },
    ...layer.files,
  ]);
  let stream: NodeJS.ReadableStream;
  // A build is not bound by the API timeout (config.ts: apiTimeoutMs): a large layer (PyTorch's
  // Python layer is 1.6 GB) can keep the engine silent for minutes while it is unpacked and
  // committed, and the shared client's idle timeout would cut the build's connection.
  const builder = connectEngine(dockerHost, 0);
  try {
    stream = await builder.buildImage(context, {
      t: tag,
      rm: true,
      forcerm: true,
      // The classic builder: every engine has it, and its output names each step.
      version: '1',
    } as Parameters<Engine['buildImage']>[1]);
  } catch (error) {
    throw engineError(dockerHost, `cannot build the ${layer.name} image`, error);
  }
  let step = 'the first step';
  const recent: string[] = [];
  const messages = await new Promise<BuildMessage[]>((resolve, reject) => {
    builder.modem.followProgress(
      stream,
      (error: Error | null, output: BuildMessage[]) => (error === null ? resolve(output) : reject(error)),
      (message: BuildMessage) => {
        for (const line of (message.stream ?? message.status ?? '').split('\n')) {
          const text = line.trim();
          if (text === '') continue;
          if (/^Step \d+\/\d+ :/.test(text)) {
            step = text;
            recent.length = 0;
          } else {
            recent.push(text);
            if (recent.length > 20) recent.shift();
          }
          progress(`build ${layer.name}: ${text}`);
        }
      },
    );
  }).catch((error: unknown) => {
    throw engineError(dockerHost, `the ${layer.name} image build stopped`, error);
  });
  const failure = messages.find((message) => message.error !== undefined);
  if (failure !== undefined) {
    const why = failure.errorDetail?.message ?? failure.error ?? 'unknown error';
    const output = recent.length === 0 ? '' : `\n${recent.join('\n')}`;
    throw new BerthError('RUN_FAILED', `image build failed at ${step}: ${why}${output}`);
  }
  return tag;
}

const building = new Map<string, Promise<string>>();

/** Builds what is missing of the plan's chain; concurrent calls for the same layer share one build. */
export async function ensureImage(
  engine: Engine,
  dockerHost: string,
  plan: ImagePlan,
  progress: Progress,
): Promise<ImageResult> {
  let from = plan.baseImage;
  const built: ImageLayer['name'][] = [];
  for (const layer of plan.layers) {
    const existing = await findImage(engine, dockerHost, layer.key);
    if (existing !== undefined) {
      progress(`image ${layer.name} layer reused: ${existing}`);
      from = existing;
      continue;
    }
    let pending = building.get(layer.key);
    if (pending === undefined) {
      const started = Date.now();
      progress(`image ${layer.name} layer: building ${layerTag(layer)} from ${from}`);
      pending = buildLayer(dockerHost, from, layer, progress).then((tag) => {
        progress(`image ${layer.name} layer built in ${Date.now() - started} ms`);
        return tag;
      });
      building.set(layer.key, pending);
      built.push(layer.name);
    }
    try {
      from = await pending;
    } catch (error) {
      throw toBerthError(error);
    } finally {
      building.delete(layer.key);
    }
  }
  return { tag: from, built };
}

/** Adds a tag (`repo:tag`) to an image. */
export async function tagImage(
  engine: Engine,
  dockerHost: string,
  image: string,
  name: string,
): Promise<void> {
  const colon = name.lastIndexOf(':');
  const slash = name.lastIndexOf('/');
  const [repo, tag] = colon > slash ? [name.slice(0, colon), name.slice(colon + 1)] : [name, 'latest'];
  try {
    await engine.getImage(image).tag({ repo, tag });
  } catch (error) {
    throw engineError(dockerHost, `cannot tag ${image} as ${name}`, error);
  }
}
