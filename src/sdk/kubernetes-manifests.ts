/**
 * `berth deployment create -f FILE --set target=prod --dry-run --output DIR`: the Kubernetes
 * manifests of a deployment written as files, nothing applied, no control plane involved. The
 * deployment is resolved as the control plane would (an inline model is registered), for a named
 * target of kind kubernetes (or the kind itself: the kubeconfig from $KUBECONFIG).
 */
import { dirname, resolve } from 'node:path';
import { BerthError } from '../core/errors.js';
import { formatSpecIssue } from '../core/yaml.js';
import { applySpecEdits, deploymentTargetWarnings, readDeploymentYaml } from '../core/specs/index.js';
import { readSpecFile } from '../core/spec-file.js';
import { createKubernetesTarget, writeManifests } from '../targets/kubernetes/index.js';
import { resolveDeployment } from '../targets/resolve-deployment.js';
import type { Workspace } from './workspace.js';

export interface KubernetesManifestOptions {
  file: string;
  name?: string;
  endpointName?: string;
  set: readonly string[];
  output: string;
  progress: (message: string) => void;
}

export async function writeKubernetesManifests(
  workspace: Workspace,
  options: KubernetesManifestOptions,
): Promise<{ files: string[]; warnings: string[] }> {
  const path = resolve(options.file);
  const read = readDeploymentYaml(await readSpecFile(path, options.file), options.file, {
    name: options.name,
    endpointName: options.endpointName,
  });
  const spec = options.set.length === 0 ? read.spec : applySpecEdits(read.spec, options.set);
  const targetName = spec.target;
  if (targetName === undefined) {
    throw new BerthError(
      'BAD_INPUT',
      '--dry-run needs the target in the file or --set target=NAME (a kubernetes target)',
    );
  }
  const kind = (await workspace.targets.kindOf(targetName)) ?? (await workspace.targets.get(targetName)).kind;
  if (kind !== 'kubernetes') {
    throw new BerthError(
      'BAD_INPUT',
      `--dry-run writes Kubernetes manifests: target ${targetName} is of kind ${kind}, not kubernetes`,
    );
  }
  const record = targetName === 'kubernetes' ? undefined : await workspace.targets.get(targetName);
  const { resolved } = await resolveDeployment(spec, workspace, targetName, {
    baseDir: dirname(path),
    kind: 'kubernetes',
  });
  const target = createKubernetesTarget({ ...(record?.config ?? {}), kind: 'kubernetes', name: targetName });
  try {
    const written = await writeManifests(target, resolved, options.output, options.progress);
    const fileWarnings = [
      ...read.fileWarnings,
      ...deploymentTargetWarnings(spec, options.file, read.lineOf, { name: targetName, kind }),
    ].map(formatSpecIssue);
    return { files: written.files, warnings: [...fileWarnings, ...written.warnings] };
  } finally {
    await target.close();
  }
}
