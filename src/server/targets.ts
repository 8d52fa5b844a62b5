/**
 * The control plane's target instances, by name. Today a target's name is its kind (`local`,
 * `kubernetes`, …); each is created on first use from the registry and closed with the server.
 * The local target keeps its replica logs and run files under the workspace.
 */
import { join } from 'node:path';
import { BerthError } from '../core/errors.js';
import { createTarget } from '../targets/registry.js';
import { targetKinds, type ComputeTarget, type TargetKind } from '../targets/target.js';

function isKind(name: string): name is TargetKind {
  return (targetKinds as readonly string[]).includes(name);
}

export class TargetSet {
  readonly #targets = new Map<string, ComputeTarget>();

  constructor(private readonly workspaceDir: string) {}

  get(name: string): ComputeTarget {
    const existing = this.#targets.get(name);
    if (existing !== undefined) return existing;
    if (!isKind(name)) {
      throw new BerthError(
        'NOT_FOUND',
        `no target named ${JSON.stringify(name)}: use one of ${targetKinds.join(', ')} (see berth target list)`,
      );
    }
    const target =
      name === 'local'
        ? createTarget({
            kind: 'local',
            name: 'local',
            logsDir: join(this.workspaceDir, 'logs'),
            runDir: join(this.workspaceDir, 'run'),
          })
        : createTarget({ kind: name, name });
    this.#targets.set(name, target);
    return target;
  }

  async close(): Promise<void> {
    const targets = [...this.#targets.values()];
    this.#targets.clear();
    await Promise.all(targets.map((target) => target.close()));
  }
}
