/**
 * Where `berth profile --target` runs its trial replicas: `local` (the default) on this machine, or
 * a container target (the kind `container`, or a target recorded with `berth target create`) on its
 * Docker Engine. Any other name is bad input (exit 2): a name the workspace does not know, or a
 * target of a kind that cannot profile yet.
 */
import { BerthError } from '../../core/errors.js';
import type { ModelToServe } from '../../scoring/engine.js';
import type { ContainerTargetConfig } from '../../targets/container/index.js';
import type { Progress } from '../../targets/target.js';
import { withWorkspaceDefaults } from '../../targets/workspace-defaults.js';
import type { Workspace } from '../workspace.js';
import { containerSite } from './trial-container.js';
import { localSite } from './trial-server.js';
import type { TrialSite } from './trial.js';

export const profileKinds = ['local', 'container'] as const;

export async function openProfileSite(
  workspace: Workspace,
  targetName: string | undefined,
  model: ModelToServe,
  progress: Progress,
): Promise<TrialSite> {
  const name = targetName ?? 'local';
  const kind = await workspace.targets.kindOf(name);
  if (kind === undefined) {
    throw new BerthError(
      'BAD_INPUT',
      `--target ${name}: no such target (a kind, ${profileKinds.join(' or ')}, or a target from berth target create; see berth target list)`,
    );
  }
  if (kind === 'local') return localSite(model, name);
  if (kind !== 'container') {
    throw new BerthError(
      'BAD_INPUT',
      `--target ${name}: a target of kind ${kind} cannot run a profile; profile on ${profileKinds.join(' or a ')} target`,
    );
  }
  const record = name === 'container' ? undefined : await workspace.targets.get(name);
  const settings = { ...(record?.config ?? {}), kind: 'container', name } as Record<string, unknown> & {
    kind: string;
  };
  const config = withWorkspaceDefaults(settings, workspace.dir) as unknown as ContainerTargetConfig & {
    name: string;
  };
  return containerSite({
    config,
    workspace,
    model: `${model.name}:${model.version}`,
    progress,
  });
}
