/**
 * The control plane's target instances, by name. A name is either a kind (`local`, `container`,
 * …: that kind with its defaults) or a target recorded with `berth target create` (its kind and
 * settings from the workspace). Each is created on first use from the registry and closed with
 * the server. The local target keeps its replica logs and run files under the workspace; the
 * container target keeps its scoring-server bundle in the workspace cache unless told otherwise,
 * and the function target its packages and logs under `<workspace>/function`.
 */
import { BerthError } from '../core/errors.js';
import { realtimeTarget } from '../targets/registry.js';
import { withWorkspaceDefaults } from '../targets/workspace-defaults.js';
import { targetKinds, type ComputeTarget, type TargetKind } from '../targets/target.js';
import type { MetadataStore } from '../workspace/index.js';

function isKind(name: string): name is TargetKind {
  return (targetKinds as readonly string[]).includes(name);
}

export class TargetSet {
  readonly #targets = new Map<string, Promise<ComputeTarget>>();

  constructor(
    private readonly workspaceDir: string,
    private readonly store: Pick<MetadataStore, 'getTarget'>,
  ) {}

  /** The target named `name`; NOT_FOUND when it is neither a kind nor a recorded target. */
  get(name: string): Promise<ComputeTarget> {
    const existing = this.#targets.get(name);
    if (existing !== undefined) return existing;
    const created = this.#create(name);
    this.#targets.set(name, created);
    // A lookup that failed is tried again next time (the target may be created meanwhile).
    void created.catch(() => this.#targets.delete(name));
    return created;
  }

  async #create(name: string): Promise<ComputeTarget> {
    return realtimeTarget(withWorkspaceDefaults(await this.#settings(name), this.workspaceDir));
  }

  /** The target's unparsed config: a kind's name alone, or a recorded target's settings. */
  async #settings(name: string): Promise<Record<string, unknown> & { kind: string }> {
    if (isKind(name)) return { kind: name, name };
    const record = await this.store.getTarget(name);
    if (record === undefined) {
      throw new BerthError(
        'NOT_FOUND',
        `no target named ${JSON.stringify(name)}: use a kind (${targetKinds.join(', ')}) or a target from berth target create (see berth target list)`,
      );
    }
    return { ...record.config, kind: record.kind, name: record.name };
  }

  async close(): Promise<void> {
    const targets = [...this.#targets.values()];
    this.#targets.clear();
    const settled = await Promise.allSettled(targets);
    await Promise.all(
      settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value.close()] : [])),
    );
  }
}
