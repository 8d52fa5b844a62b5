import { join } from 'node:path';
import type { ArtifactStore, MetadataStore } from '../workspace/index.js';
import { initWorkspace, openWorkspaceParts, resolveWorkspaceDir } from '../workspace/index.js';
import { BatchOperations } from './batch.js';
import { EndpointOperations } from './endpoints.js';
import { JobOperations } from './jobs.js';
import { ModelOperations } from '../registry/model-operations.js';
import { TargetOperations } from './named-targets.js';

export interface WorkspaceOptions {
  /** The workspace folder. Default: `$BERTH_WORKSPACE`, else `./.berth`. */
  dir?: string;
}

/**
 * A berth workspace: the metadata store and the artifact store, and the operations over them.
 *
 * ```ts
 * import { Workspace } from 'berth';
 * const workspace = await Workspace.init();
 * const model = await workspace.models.register({ name: 'linear', path: 'examples/models/linear.onnx' });
 * console.log(model.signature?.inputs);
 * await workspace.close();
 * ```
 */
export class Workspace {
  readonly models: ModelOperations;
  readonly batch: BatchOperations;
  readonly endpoints: EndpointOperations;
  /** Named targets recorded with `berth target create`. */
  readonly targets: TargetOperations;
  /** Command jobs (training, or any command) and their run history. */
  readonly jobs: JobOperations;

  private constructor(
    readonly dir: string,
    private readonly store: MetadataStore,
    artifacts: ArtifactStore,
  ) {
    this.models = new ModelOperations(store, artifacts, join(dir, 'cache'));
    this.targets = new TargetOperations(store, dir);
    this.jobs = new JobOperations(dir, artifacts, (name) => this.targets.find(name));
    this.batch = new BatchOperations(dir, this.models, { findTarget: (name) => this.targets.find(name) });
    this.endpoints = new EndpointOperations({
      workspaceDir: dir,
      targetKind: (name) => this.targets.kindOf(name),
    });
  }

  /** Creates the workspace when absent (idempotent) and opens it. */
  static async init(options: WorkspaceOptions = {}): Promise<Workspace> {
    const dir = resolveWorkspaceDir(options.dir);
    await initWorkspace(dir);
    return Workspace.open({ dir });
  }

  /** Opens an existing workspace; WORKSPACE_MISSING when there is none. */
  static async open(options: WorkspaceOptions = {}): Promise<Workspace> {
    const dir = resolveWorkspaceDir(options.dir);
    const parts = await openWorkspaceParts(dir);
    return new Workspace(parts.dir, parts.store, parts.artifacts);
  }

  async schemaVersion(): Promise<number> {
    return this.store.schemaVersion();
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}
