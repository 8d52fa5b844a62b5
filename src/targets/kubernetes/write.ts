/**
 * `--dry-run --output DIR`: the manifests of a deployment written as YAML files, one object per
 * file, nothing applied. The API versions are the cluster's (discovery) when it answers, else
 * today's stable ones (autoscaling/v2, policy/v1), with a warning saying so.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { Progress, ResolvedDeployment } from '../target.js';
import { currentApis } from './discovery.js';
import { imageFor } from './image.js';
import { isKserveRefusal, kserveManifests } from './kserve.js';
import { deploymentManifests, type Manifests } from './manifests.js';
import type { KubernetesTarget } from './target.js';

async function offlineManifests(target: KubernetesTarget, spec: ResolvedDeployment): Promise<Manifests> {
  const manifests = deploymentManifests({
    spec,
    namespace: target.config.namespace ?? 'default',
    image: (await imageFor(spec, target.config)).name,
    imagePullSecret: target.config.imagePullSecret,
    token: randomBytes(24).toString('base64url'),
    apis: currentApis,
  });
  return target.config.kserve ? kserveManifests(spec, manifests) : manifests;
}

export interface WrittenManifests {
  files: string[];
  warnings: string[];
}

export async function writeManifests(
  target: KubernetesTarget,
  spec: ResolvedDeployment,
  outputDir: string,
  progress: Progress,
): Promise<WrittenManifests> {
  let manifests: Manifests;
  const warnings = await target.validate(spec);
  try {
    manifests = await target.manifests(spec);
  } catch (error) {
    // A cluster that answered without KServe is the answer, not a reason to write them anyway.
    if (isKserveRefusal(error)) throw error;
    warnings.push(
      `the cluster was not asked (${error instanceof Error ? error.message : String(error)}): written for ${currentApis.hpa} and ${currentApis.pdb}`,
    );
    manifests = await offlineManifests(target, spec);
  }
  warnings.push(...manifests.warnings);
  const dir = resolve(outputDir);
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const [index, object] of manifests.objects.entries()) {
    const file = join(
      dir,
      `${String(index + 1).padStart(2, '0')}-${object.kind.toLowerCase()}-${object.metadata.name}.yaml`,
    );
    await writeFile(file, stringify(object), { mode: object.kind === 'Secret' ? 0o600 : 0o644 });
    files.push(file);
    progress(`wrote ${file}`);
  }
  return { files, warnings };
}
