import type { ModelRepository, ModelToServe } from '../../scoring/engine.js';
import type { Workspace } from '../../sdk/workspace.js';
import { BerthError } from '../../core/errors.js';

/** Resolves each NAME[:VERSION] to verified files in the workspace cache. */
export async function modelsToServe(workspace: Workspace, references: string[]): Promise<ModelToServe[]> {
  const models: ModelToServe[] = [];
  for (const reference of references) {
    const local = await workspace.models.localFiles(reference);
    if (models.some((m) => m.name === local.model.name)) {
      throw new BerthError(
        'BAD_INPUT',
        `model ${local.model.name} is named twice: serve one version per model`,
      );
    }
    models.push({
      name: local.model.name,
      version: String(local.model.version),
      framework: local.model.framework,
      modelDir: local.modelDir,
      modelFile: local.modelFile,
      signature: local.model.signature,
    });
  }
  return models;
}

/**
 * Backs the v2 model repository API of `berth serve` with the workspace: `index` lists every
 * registered version (READY when served now), `load` resolves any registered version to files.
 */
export function workspaceRepository(workspace: Workspace, served: ModelToServe[]): ModelRepository {
  return {
    async index() {
      const all = await workspace.models.list();
      return all.map((model) => {
        const live = served.some((s) => s.name === model.name && s.version === String(model.version));
        return {
          name: model.name,
          version: String(model.version),
          state: live ? ('READY' as const) : ('UNAVAILABLE' as const),
          reason: live ? '' : 'not loaded',
        };
      });
    },
    async resolve(name, version) {
      const [model] = await modelsToServe(workspace, [version === undefined ? name : `${name}:${version}`]);
      if (model === undefined) throw new Error(`model ${name} did not resolve`);
      const at = served.findIndex((s) => s.name === model.name);
      if (at === -1) served.push(model);
      else served[at] = model;
      return model;
    },
  };
}
