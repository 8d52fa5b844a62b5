import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BerthError } from '../core/errors.js';
import type { ModelVersion } from '../core/model.js';
import type { ModelProfile } from '../core/model-profile.js';
import { assertName, parseModelRef } from '../core/names.js';
import type { ArtifactStore, MetadataStore } from '../workspace/index.js';
import { checkFramework, detectFramework, readOnnxSignature } from './index.js';
import { inspectPythonModel, isInspected, type PythonModelReading } from './python-model.js';
import { materialize } from './model-cache.js';
import type { ProgressCallback } from '../core/progress.js';

export interface RegisterModelOptions {
  /** 1-63 letters, digits, '-' or '_'. */
  name: string;
  /** A file, or a folder whose tree is kept. Relative paths resolve from the current directory. */
  path: string;
  /** `onnx` or `custom`. Default: `onnx` when the path is a `.onnx` file or a folder holding one, else `custom`. */
  framework?: string;
  /** For a folder holding several `.onnx` files: the one to serve, relative to the folder. */
  modelFile?: string;
  /** Default: empty. */
  description?: string;
  /** Default: none. */
  tags?: Record<string, string>;
  onProgress?: ProgressCallback;
}

function checkTags(tags: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(tags)) {
    if (!/^[A-Za-z0-9_.-]{1,63}$/.test(key)) {
      throw new BerthError(
        'BAD_INPUT',
        `invalid tag key ${JSON.stringify(key)}: use 1-63 letters, digits, "_", "." or "-"`,
      );
    }
    if (value.length > 256) throw new BerthError('BAD_INPUT', `tag ${key}: value longer than 256 characters`);
  }
  return tags;
}

/** The model operations of a workspace: register, list, get, download, delete. */
export class ModelOperations {
  constructor(
    private readonly store: MetadataStore,
    private readonly artifacts: ArtifactStore,
    private readonly cacheDir: string,
  ) {}

  async register(options: RegisterModelOptions): Promise<ModelVersion> {
    const name = assertName(options.name, 'model name');
    const tags = checkTags(options.tags ?? {});
    const path = resolve(options.path);
    const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new BerthError('PATH_NOT_FOUND', `no such file or folder: ${path}`);
      throw new BerthError('PATH_UNREADABLE', `cannot read ${path}: ${error.code ?? error.message}`);
    });
    const isFolder = info.isDirectory();
    if (!isFolder && !info.isFile())
      throw new BerthError('BAD_INPUT', `${path} is neither a file nor a folder`);

    const choice =
      options.framework === undefined
        ? await detectFramework(path, isFolder, { modelFile: options.modelFile })
        : await checkFramework(options.framework, path, { modelFile: options.modelFile });
    const framework = choice.framework;
    const onnxPath = framework !== 'onnx' ? undefined : isFolder ? join(path, choice.modelFile ?? '') : path;
    // Reading the signature first means an invalid model is refused before a byte is stored.
    const signature = onnxPath === undefined ? null : await readOnnxSignature(onnxPath);
    // A scikit-learn or PyTorch file that Python cannot load is refused (when Python can be asked).
    if (isInspected(framework)) await inspectPythonModel(framework, path);
    const artifact = isFolder
      ? await this.artifacts.putFolder(path, options.onProgress)
      : await this.artifacts.putFile(path, options.onProgress);
    return this.store.createModelVersion({
      name,
      framework,
      description: options.description ?? '',
      tags,
      artifact,
      modelFile: choice.modelFile,
      signature,
    });
  }

  /** Every version, ordered by name then version; `name` narrows to one model. */
  async list(filter: { name?: string } = {}): Promise<ModelVersion[]> {
    if (filter.name !== undefined) assertName(filter.name, 'model name');
    return this.store.listModelVersions(filter);
  }

  /** `name` (latest version) or `name:version`. */
  async get(reference: string): Promise<ModelVersion> {
    const ref = parseModelRef(reference);
    const found = await this.store.getModelVersion(ref.name, ref.version);
    if (!found) {
      const what = ref.version === undefined ? `model ${ref.name}` : `model ${ref.name}:${ref.version}`;
      throw new BerthError('NOT_FOUND', `${what} not found (see \`berth model list\`)`);
    }
    return found;
  }

  /** What Python reads of a `sklearn` or `pytorch` version (estimator type, TorchScript inputs); undefined for other frameworks. */
  async inspect(reference: string): Promise<PythonModelReading | undefined> {
    const local = await this.localFiles(reference);
    const { framework, artifact } = local.model;
    if (!isInspected(framework)) return undefined;
    const path = artifact.kind === 'file' ? join(local.modelDir, artifact.fileName) : local.modelDir;
    return inspectPythonModel(framework, path);
  }

  /** Copies a version's files into `destination` (a file keeps its name; a folder its tree), verifying every byte. */
  async download(reference: string, destination: string, onProgress?: ProgressCallback): Promise<string> {
    const model = await this.get(reference);
    return this.artifacts.exportTo(model.artifact, resolve(destination), onProgress);
  }

  /**
   * The verified on-disk location of a version's files, without copying: the served ONNX file and
   * the folder a scoring script sees as its model folder.
   */
  async localFiles(
    reference: string,
  ): Promise<{ model: ModelVersion; modelDir: string; modelFile: string | undefined }> {
    const model = await this.get(reference);
    const local = await materialize(this.artifacts, model.artifact, this.cacheDir);
    const modelFile =
      model.framework !== 'onnx'
        ? undefined
        : model.artifact.kind === 'file'
          ? local.filePath
          : resolve(local.dir, model.modelFile ?? '');
    return { model, modelDir: local.dir, modelFile };
  }

  /** Keeps what `berth profile` measured with the version (`name` alone: the latest), replacing an earlier profile. */
  async saveProfile(reference: string, profile: ModelProfile): Promise<ModelVersion> {
    const model = await this.get(reference);
    await this.store.saveModelProfile(model.name, model.version, profile);
    return model;
  }

  /** The version's measured profile; undefined when it was never profiled. */
  async profile(reference: string): Promise<ModelProfile | undefined> {
    const model = await this.get(reference);
    return this.store.getModelProfile(model.name, model.version);
  }

  /** Refused while a deployment uses the version; the version must be named explicitly. */
  async delete(reference: string): Promise<ModelVersion> {
    const ref = parseModelRef(reference);
    if (ref.version === undefined) {
      throw new BerthError('BAD_INPUT', `name the version to delete, e.g. ${ref.name}:1`);
    }
    const model = await this.get(reference);
    await this.store.deleteModelVersion(model.name, model.version);
    if (
      model.artifact.kind === 'file' &&
      (await this.store.countArtifactReferences(model.artifact.sha256)) === 0
    ) {
      await this.artifacts.remove(model.artifact.sha256);
    }
    return model;
  }
}
