/**
 * DeploymentSpec → ResolvedDeployment: the workspace half of resolution. The model is looked up
 * and its files verified on disk (an inline `{ path }` model is registered first), the scoring
 * script is found against the YAML file's folder, and the spec-only settings come from core.
 */
import { realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { BerthError } from '../core/errors.js';
import { formatModelRef } from '../core/names.js';
import { resolveDeploymentSettings, type DeploymentSpec } from '../core/specs/index.js';
import type { ResolvedDeployment, TargetKind } from './target.js';
import type { ModelOperations } from '../registry/model-operations.js';

export interface ResolveDeploymentOptions {
  /** The folder relative paths in the spec resolve against: the YAML file's folder. */
  baseDir: string;
  /** The kind of the target named `target` (a named target's own name says nothing of it). */
  kind: TargetKind;
}

export interface DeploymentResolution {
  resolved: ResolvedDeployment;
  /** The spec as it should be stored: an inline model replaced by the `name:version` it registered. */
  spec: DeploymentSpec;
}

const scriptExtensions = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts', '.py']);
/** Targets whose replicas can start a Python worker (the machine's own interpreter). */
/** The kinds of target whose replicas run Python scoring scripts. */
const pythonKinds: ReadonlySet<TargetKind> = new Set(['local', 'container']);

async function mustExist(path: string, what: string, folder: boolean): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new BerthError('PATH_NOT_FOUND', `${what} not found: ${path}`);
  if (folder ? !info.isDirectory() : !info.isFile()) {
    throw new BerthError('BAD_INPUT', `${what} is not a ${folder ? 'folder' : 'file'}: ${path}`);
  }
}

/** The scoring script, which must stay inside its code folder (symbolic links followed). */
async function resolveScript(
  spec: DeploymentSpec,
  baseDir: string,
): Promise<{ codeDir: string | undefined; scoringScript: string | undefined }> {
  const code = spec.code_configuration;
  if (code === undefined) return { codeDir: undefined, scoringScript: undefined };
  const codeDir = resolve(baseDir, code.code);
  await mustExist(codeDir, 'code_configuration.code folder', true);
  if (isAbsolute(code.scoring_script)) {
    throw new BerthError(
      'PATH_ESCAPES',
      'code_configuration.scoring_script must be relative to code_configuration.code',
    );
  }
  const script = resolve(codeDir, code.scoring_script);
  await mustExist(script, 'code_configuration.scoring_script', false);
  const [realDir, realScript] = await Promise.all([realpath(codeDir), realpath(script)]);
  const inside = relative(realDir, realScript);
  if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) {
    throw new BerthError(
      'PATH_ESCAPES',
      `code_configuration.scoring_script ${code.scoring_script} is outside the code folder ${codeDir}`,
    );
  }
  if (!scriptExtensions.has(extname(realScript))) {
    throw new BerthError(
      'INVALID_SPEC',
      `code_configuration.scoring_script ${code.scoring_script}: berth runs JavaScript, TypeScript or Python scoring scripts (init/run), not ${extname(realScript) || 'extensionless files'}`,
    );
  }
  return { codeDir: realDir, scoringScript: realScript };
}

/** `environment.conda_file`, relative to the YAML file's folder, when the environment is a mapping. */
async function resolveCondaFile(spec: DeploymentSpec, baseDir: string): Promise<string | undefined> {
  const environment = spec.environment;
  if (typeof environment !== 'object' || typeof environment.conda_file !== 'string') return undefined;
  const path = resolve(baseDir, environment.conda_file);
  await mustExist(path, 'environment.conda_file', false);
  return path;
}

async function resolveModelRef(
  spec: DeploymentSpec,
  models: Pick<ModelOperations, 'register'>,
  baseDir: string,
): Promise<string> {
  if (typeof spec.model === 'string') return spec.model.replace(/@latest$/, '');
  const registered = await models.register({
    name: spec.model.name ?? `${spec.endpoint_name ?? 'endpoint'}-${spec.name ?? 'deployment'}-model`,
    path: resolve(baseDir, spec.model.path),
    description: spec.model.description,
    tags: spec.model.tags,
  });
  return formatModelRef(registered);
}

/**
 * Resolves a deployment for `target`. Registers an inline model (so call it once per create and
 * store the returned spec); everything else only reads.
 */
export async function resolveDeployment(
  spec: DeploymentSpec,
  workspace: { models: Pick<ModelOperations, 'register' | 'localFiles'> },
  target: string,
  options: ResolveDeploymentOptions,
): Promise<DeploymentResolution> {
  if (spec.name === undefined || spec.endpoint_name === undefined) {
    throw new BerthError('INVALID_SPEC', 'a deployment needs name and endpoint_name');
  }
  const baseDir = resolve(options.baseDir);
  const script = await resolveScript(spec, baseDir);
  if (extname(script.scoringScript ?? '') === '.py' && !pythonKinds.has(options.kind)) {
    throw new BerthError(
      'INVALID_SPEC',
      `code_configuration.scoring_script ${spec.code_configuration?.scoring_script}: Python scoring scripts run on targets of kind ${[...pythonKinds].join(', ')} (and berth serve), not on ${target} (${options.kind})`,
    );
  }
  const condaFile = await resolveCondaFile(spec, baseDir);
  const reference = await resolveModelRef(spec, workspace.models, baseDir);
  const local = await workspace.models.localFiles(reference);
  const model = local.model;
  if (model.framework !== 'onnx' && script.scoringScript === undefined) {
    throw new BerthError(
      'INVALID_SPEC',
      `model ${formatModelRef(model)} is not ONNX: give a scoring script (code_configuration) to serve it`,
    );
  }
  const settings = resolveDeploymentSettings(spec);
  const resolved: ResolvedDeployment = {
    endpointName: spec.endpoint_name,
    deploymentName: spec.name,
    target,
    model: {
      name: model.name,
      version: model.version,
      framework: model.framework,
      modelDir: local.modelDir,
      modelFile: local.modelFile,
      sha256: model.artifact.sha256,
      sizeBytes: model.artifact.size,
      signature: model.signature,
    },
    scoringScript: script.scoringScript,
    codeDir: script.codeDir,
    ...(condaFile === undefined ? {} : { condaFile }),
    ...settings,
  };
  // The stored spec names the exact version resolved now (a name alone means the latest), so an
  // update with --set or a restore never moves the deployment to a newer model by itself.
  return { resolved, spec: { ...spec, model: formatModelRef(model) } };
}
