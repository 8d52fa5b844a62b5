/**
 * `berth package`: a deployment as a Docker build context on disk (Dockerfile included, the same
 * layers the target builds, in one file) or as a built and tagged image. Both check the
 * container row of the capabilities table first.
 */
import { copyFile, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { targetCapabilities } from '../capabilities.js';
import type { Progress, ResolvedDeployment } from '../target.js';
import { validateForTarget } from '../validate.js';
import { combinedContext, planImage } from './build-context.js';
import { serverBundle } from './bundle.js';
import type { ResolvedContainerTargetConfig } from './config.js';
import { connectEngine, pingEngine } from './engine.js';
import { ensureImage, tagImage } from './image.js';

export interface PackageResult {
  /** The folder written, or the image tag. */
  output: string;
  /** The image inputs' key (the `berth.key` label of the app layer). */
  key: string;
  warnings: string[];
}

/** Writes the build context to `outputDir` (created; files in it are overwritten). */
export async function writeBuildContext(
  spec: ResolvedDeployment,
  config: Pick<ResolvedContainerTargetConfig, 'baseImage' | 'cacheDir'>,
  outputDir: string,
): Promise<PackageResult> {
  const warnings = validateForTarget(spec, targetCapabilities.container, 'container');
  const plan = await planImage(spec, await serverBundle(config.cacheDir), config.baseImage, config.cacheDir);
  const root = resolve(outputDir);
  for (const entry of combinedContext(plan)) {
    const path = join(root, ...entry.path.split('/'));
    if (entry.kind === 'dir') {
      await mkdir(path, { recursive: true });
      continue;
    }
    await mkdir(dirname(path), { recursive: true });
    if (entry.kind === 'link') {
      await rm(path, { force: true });
      await symlink(entry.target, path);
    } else if (entry.kind === 'data') await writeFile(path, entry.data, { mode: entry.mode ?? 0o644 });
    else await copyFile(entry.source, path);
  }
  return { output: root, key: plan.key, warnings: [...warnings, ...plan.warnings] };
}

/** Builds the image on the target's engine (reusing cached layers) and tags it `tag`. */
export async function packageImage(
  spec: ResolvedDeployment,
  config: ResolvedContainerTargetConfig,
  tag: string,
  progress: Progress,
): Promise<PackageResult> {
  const warnings = validateForTarget(spec, targetCapabilities.container, 'container');
  const engine = connectEngine(config.dockerHost, config.apiTimeoutMs);
  await pingEngine(engine, config.dockerHost);
  const plan = await planImage(spec, await serverBundle(config.cacheDir), config.baseImage, config.cacheDir);
  const result = await ensureImage(engine, config.dockerHost, plan, progress);
  await tagImage(engine, config.dockerHost, result.tag, tag);
  return { output: tag, key: plan.key, warnings: [...warnings, ...plan.warnings] };
}
