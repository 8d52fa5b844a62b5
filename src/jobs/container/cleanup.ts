/**
 * The containers of a run, found by their `berth.run` label on the engine the run was sent to
 * (its settings are kept in the run folder), removed when the runner that owned them is gone: a
 * runner killed with SIGKILL cannot stop its container, so whoever records the run as Failed does.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  resolveContainerTargetConfig,
  type ResolvedContainerTargetConfig,
} from '../../targets/container/config.js';
import { connectEngine } from '../../targets/container/engine.js';
import type { RunFolder } from '../run-folder.js';

function configFile(folder: RunFolder): string {
  return join(folder.dir, 'container-target.json');
}

export async function writeRunTargetConfig(
  folder: RunFolder,
  config: ResolvedContainerTargetConfig,
): Promise<void> {
  await writeFile(configFile(folder), `${JSON.stringify(config, null, 2)}\n`);
}

export async function readRunTargetConfig(folder: RunFolder): Promise<ResolvedContainerTargetConfig> {
  return resolveContainerTargetConfig(JSON.parse(await readFile(configFile(folder), 'utf8')) as unknown);
}

/** Removes the run's containers, running or not, and its ranks' network; resolves the number of containers. */
export async function removeRunContainers(folder: RunFolder): Promise<number> {
  const config = await readRunTargetConfig(folder);
  const engine = connectEngine(config.dockerHost, config.apiTimeoutMs);
  const containers = await engine.listContainers({
    all: true,
    filters: JSON.stringify({ label: [`berth.run=${folder.id}`] }),
  });
  await Promise.all(
    containers.map((container) =>
      engine
        .getContainer(container.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  const networks = await engine.listNetworks({
    filters: JSON.stringify({ label: [`berth.run=${folder.id}`] }),
  });
  await Promise.all(
    networks.map((network) =>
      engine
        .getNetwork(network.Id)
        .remove()
        .catch(() => undefined),
    ),
  );
  return containers.length;
}
