/**
 * The image a deployment's pods run: the container target's image (base → scoring server → model →
 * code and options), named `<registry>/berth-app:<key>` where the key covers every input, so a
 * changed model or script is a new tag and a new rollout, and an unchanged deployment keeps its tag.
 * With `buildImage` it is built on the Docker Engine ($DOCKER_HOST) and pushed to the registry.
 */
import { BerthError } from '../../core/errors.js';
import { planImage, type ImagePlan } from '../container/build-context.js';
import { serverBundle } from '../container/bundle.js';
import { defaultDockerHost } from '../container/config.js';
import { connectEngine, engineError, pingEngine, type Engine } from '../container/engine.js';
import { ensureImage, tagImage } from '../container/image.js';
import { dockerConfigPath, registryAuthFor, registryHost } from '../container/registry-auth.js';
import type { Progress, ResolvedDeployment } from '../target.js';
import type { ResolvedKubernetesTargetConfig } from './config.js';

type ImageConfig = Pick<ResolvedKubernetesTargetConfig, 'registry' | 'baseImage' | 'cacheDir' | 'buildImage'>;

export interface DeploymentImage {
  name: string;
  key: string;
}

/** The image's name, computed from the deployment's inputs without building anything. */
export async function imageFor(spec: ResolvedDeployment, config: ImageConfig): Promise<DeploymentImage> {
  const plan = await planImage(spec, await serverBundle(config.cacheDir), config.baseImage, config.cacheDir);
  const repository = config.registry === undefined ? 'berth/app' : `${config.registry}/berth-app`;
  return { name: `${repository}:${plan.key.slice(0, 32)}`, key: plan.key };
}

/** Builds the image (reusing the layers already there), tags it, and pushes it when a registry is set. */
export async function buildAndPush(
  spec: ResolvedDeployment,
  config: ImageConfig,
  image: DeploymentImage,
  progress: Progress,
): Promise<void> {
  const plan = await planImage(spec, await serverBundle(config.cacheDir), config.baseImage, config.cacheDir);
  await publishImage(plan, config.registry, image.name, progress);
}

/**
 * Builds what the engine lacks of `plan` on $DOCKER_HOST, tags the result `name`, and pushes it
 * when there is a registry (else the nodes must already have it, and progress says so).
 */
export async function publishImage(
  plan: ImagePlan,
  registry: string | undefined,
  name: string,
  progress: Progress,
): Promise<void> {
  const dockerHost = process.env.DOCKER_HOST ?? defaultDockerHost;
  const engine = connectEngine(dockerHost, 600_000);
  await pingEngine(engine, dockerHost);
  const built = await ensureImage(engine, dockerHost, plan, progress);
  await tagImage(engine, dockerHost, built.tag, name);
  if (registry === undefined) {
    progress(`image ${name} built on ${dockerHost}; no registry: the cluster's nodes must already have it`);
    return;
  }
  await pushImage(engine, dockerHost, name, progress);
}

/**
 * Pushes `name` (`registry/repository:tag`) from the engine to its registry, with the credentials
 * `docker login` saved for its host, if any.
 */
async function pushImage(
  engine: Engine,
  dockerHost: string,
  name: string,
  progress: Progress,
): Promise<void> {
  const auth = registryAuthFor(name);
  progress(`pushing ${name}${auth === undefined ? '' : ` as ${auth.username} (${dockerConfigPath()})`}`);
  const colon = name.lastIndexOf(':');
  let stream: NodeJS.ReadableStream;
  try {
    stream = await engine
      .getImage(name.slice(0, colon))
      .push({ tag: name.slice(colon + 1), ...(auth === undefined ? {} : { authconfig: auth }) });
  } catch (error) {
    throw engineError(dockerHost, `cannot push ${name}`, error);
  }
  await new Promise<void>((resolve, reject) => {
    engine.modem.followProgress(stream, (error: Error | null, output: { error?: string }[]) => {
      const failed = error?.message ?? output.find((message) => message.error !== undefined)?.error;
      if (failed === undefined) return resolve();
      const hint =
        auth === undefined && /unauthorized|authentication required|no basic auth/i.test(failed)
          ? ` (the registry asks for credentials and ${dockerConfigPath()} has none for ${registryHost(name)}: docker login ${registryHost(name)})`
          : '';
      reject(new BerthError('RUN_FAILED', `pushing ${name}: ${failed}${hint}`));
    });
  });
  progress(`pushed ${name}`);
}
