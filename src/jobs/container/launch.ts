/**
 * Starting a container job: the target's settings resolved (a named target's, or the defaults of
 * the bare `container` kind) and written to the run folder, then the detached runner
 * (runner-main.ts), which records its pid in the status like a local job's runner, so a cancel
 * reaches it the same way.
 */
import { fileURLToPath } from 'node:url';
import { parseComputeRef } from '../../batch/definition/compute.js';
import {
  resolveContainerTargetConfig,
  type ResolvedContainerTargetConfig,
} from '../../targets/container/config.js';
import { launchRunner } from '../local/launch.js';
import { writeRunTargetConfig } from './cleanup.js';
import type { RunFolder } from '../run-folder.js';

const runnerMain = fileURLToPath(new URL('./runner-main.js', import.meta.url));

/** `compute` names the target (or is the kind itself); `config` is what `berth target create` stored. */
export function containerConfigOf(
  compute: string,
  config: Record<string, unknown>,
): ResolvedContainerTargetConfig {
  const ref = parseComputeRef(compute);
  const name = ref.kind === 'name' ? ref.name : 'container';
  return resolveContainerTargetConfig({ ...config, kind: 'container', name });
}

export async function launchContainerRun(
  folder: RunFolder,
  config: ResolvedContainerTargetConfig,
): Promise<void> {
  // Kept in the run folder: the runner reads it, and so does whoever cleans up after a dead runner.
  await writeRunTargetConfig(folder, config);
  launchRunner(folder, runnerMain);
}
