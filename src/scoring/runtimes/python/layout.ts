/**
 * The environment a Python scoring script finds, laid out as Azure ML lays it out:
 * AZUREML_MODEL_DIR is a folder holding the registered file, or the registered folder under its
 * own name. berth's model cache keeps a file as `<sha256>/<file>` (modelDir is `<sha256>`) and a
 * folder as `<sha256>/<folder>/…` (modelDir is the folder), so for a folder the Azure directory
 * is its parent. BERTH_MODELS lists every served model the same way, for Model.get_model_path.
 */
import { basename, dirname } from 'node:path';
import type { ModelToServe } from '../../engine.js';

const CACHE_ENTRY = /^[0-9a-f]{64}$/;

/** The folder Azure would name AZUREML_MODEL_DIR for this model. */
export function azureModelDir(modelDir: string): string {
  if (CACHE_ENTRY.test(basename(modelDir))) return modelDir;
  const parent = dirname(modelDir);
  return CACHE_ENTRY.test(basename(parent)) ? parent : modelDir;
}

export function pythonEnvironment(
  models: ModelToServe[],
  scoringScript: string,
  base: NodeJS.ProcessEnv = process.env,
): Record<string, string | undefined> {
  const first = models[0];
  const served = models.map((model) => ({
    name: model.name,
    version: model.version,
    dir: azureModelDir(model.modelDir),
  }));
  return {
    ...base,
    BERTH_SCORING_SCRIPT: scoringScript,
    BERTH_MODELS: JSON.stringify(served),
    ...(first === undefined
      ? {}
      : { AZUREML_MODEL_DIR: azureModelDir(first.modelDir), BERTH_MODEL_DIR: first.modelDir }),
    PYTHONUNBUFFERED: '1',
  };
}
