/**
 * Named targets (`berth target create dev-docker --type container --docker-host …`): a kind and
 * its settings recorded in the workspace under a name, which a deployment's `target:` then names.
 * The settings are validated against the kind's config schema before they are stored.
 */
import { redactClusterAddress } from '../batch/cluster/config.js';
import { BerthError } from '../core/errors.js';
import { parseTargetConfig } from '../targets/config.js';
import { targetKinds, type TargetKind } from '../targets/target.js';
import { withWorkspaceDefaults } from '../targets/workspace-defaults.js';
import type { MetadataStore, TargetRecord } from '../workspace/index.js';

export interface CreateTargetInput {
  name: string;
  kind: string;
  /** The kind's settings (e.g. `dockerHost`, `baseImage` for a container); undefined members are dropped. */
  settings: Record<string, unknown>;
}

export class TargetOperations {
  /** @param workspaceDir the workspace whose defaults a target is validated with, as it will be opened */
  constructor(
    private readonly store: MetadataStore,
    private readonly workspaceDir: string,
  ) {}

  async create(input: CreateTargetInput): Promise<TargetRecord> {
    const kind = targetKinds.find((candidate) => candidate === input.kind);
    if (kind === undefined) {
      throw new BerthError('BAD_INPUT', `--type must be one of ${targetKinds.join(', ')}, not ${input.kind}`);
    }
    if ((targetKinds as readonly string[]).includes(input.name)) {
      throw new BerthError(
        'BAD_INPUT',
        `a target cannot be named after a kind (${input.name}): pick another name`,
      );
    }
    const settings = Object.fromEntries(
      Object.entries(input.settings).filter(([, value]) => value !== undefined),
    );
    parseTargetConfig(withWorkspaceDefaults({ ...settings, kind, name: input.name }, this.workspaceDir));
    return this.store.createTarget({ name: input.name, kind, config: settings });
  }

  /** The kind a target name stands for: a kind is its own; a named target's is recorded. */
  async kindOf(name: string): Promise<string | undefined> {
    const kind = targetKinds.find((candidate) => candidate === name);
    return kind ?? (await this.find(name))?.kind;
  }

  /** The named target, or undefined when the workspace has none of that name. */
  async find(name: string): Promise<TargetRecord | undefined> {
    return this.store.getTarget(name);
  }

  async get(name: string): Promise<TargetRecord> {
    const found = await this.store.getTarget(name);
    if (found === undefined)
      throw new BerthError('NOT_FOUND', `target ${name} not found (see berth target list)`);
    return found;
  }

  async list(): Promise<TargetRecord[]> {
    return this.store.listTargets();
  }

  /** NOT_FOUND when there is none; IN_USE while endpoints or deployments name it. */
  async delete(name: string): Promise<void> {
    if (!(await this.store.deleteTarget(name))) {
      throw new BerthError('NOT_FOUND', `target ${name} not found (see berth target list)`);
    }
  }
}

export type { TargetKind, TargetRecord };

/** The settings that hold a Redis address: a cluster's, and a Kubernetes target's batch queue. */
const redisSettings = new Set(['redis', 'batchRedis', 'batchRedisInCluster']);

/** Settings fit to print: the password of a Redis address is replaced by `***`. */
export function redactSettings(settings: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(settings).map(([key, value]) => [
      key,
      redisSettings.has(key) && typeof value === 'string' ? redactClusterAddress(value) : value,
    ]),
  );
}
