/**
 * The containers of one container job, one per rank: created from the job image with the run
 * folder and the inputs mounted and `resources` as engine limits, each writing its own log. Ranks
 * above one share a network of their own, on which rank 0's container name is `MASTER_ADDR`, so a
 * distributed trainer's ranks find each other as they would across machines (each rank is its own
 * node: `NODE_RANK` is the rank, `LOCAL_RANK` 0).
 */
import { basename } from 'node:path';
import { BerthError, toBerthError } from '../../core/errors.js';
import type { ResolvedContainerTargetConfig } from '../../targets/container/config.js';
import { engineError, type Engine } from '../../targets/container/engine.js';
import type { RunRecord } from '../records.js';
import type { RunFolder } from '../run-folder.js';
import { rankEnvironment, type RunPaths } from '../work-dir.js';
import { runDirInContainer } from './image.js';

/** The port rank 0 of a distributed trainer listens on, inside its own container. */
const masterPort = 29500;

export const containerPaths: RunPaths = {
  runDir: runDirInContainer,
  metricsFile: `${runDirInContainer}/metrics.jsonl`,
  historyDir: `${runDirInContainer}/history`,
  outputsDir: `${runDirInContainer}/code/outputs`,
};

export function containerNameOf(runId: string, rank = 0): string {
  return `berth-job-${runId}${rank === 0 ? '' : `-${rank}`}`.replace(/[^a-zA-Z0-9_.-]/g, '-');
}

export interface RankSpec {
  runId: string;
  image: string;
  command: string;
  worldSize: number;
  environment: Readonly<Record<string, string>>;
  /** Read-only input mounts, `host:container:ro`. */
  binds: readonly string[];
  resources: RunRecord['definition']['resources'];
}

export interface RankContainer {
  rank: number;
  name: string;
  id: string;
}

/** The network ranks above one share; undefined for one rank. */
export async function createRankNetwork(
  engine: Engine,
  config: ResolvedContainerTargetConfig,
  spec: RankSpec,
): Promise<string | undefined> {
  if (spec.worldSize === 1) return undefined;
  const name = containerNameOf(spec.runId);
  try {
    const network = await engine.createNetwork({
      Name: name,
      Labels: { 'berth.managed': 'true', 'berth.run': spec.runId },
    });
    return network.id;
  } catch (error) {
    throw engineError(config.dockerHost, `cannot create the job's network ${name}`, error);
  }
}

export async function createRankContainers(
  engine: Engine,
  config: ResolvedContainerTargetConfig,
  folder: RunFolder,
  spec: RankSpec,
  network: string | undefined,
): Promise<RankContainer[]> {
  const created: RankContainer[] = [];
  for (let rank = 0; rank < spec.worldSize; rank += 1) {
    const name = containerNameOf(spec.runId, rank);
    const env = {
      ...spec.environment,
      ...rankEnvironment(spec.runId, containerPaths, {
        rank,
        worldSize: spec.worldSize,
        localRank: 0,
        localWorldSize: 1,
        nodeRank: rank,
        masterAddr: network === undefined ? '127.0.0.1' : containerNameOf(spec.runId),
        masterPort,
      }),
      PYTHONPATH: `${runDirInContainer}/sdk/python`,
    };
    const log = `${runDirInContainer}/${basename(folder.logFile(rank))}`;
    try {
      const container = await engine.createContainer({
        name,
        Image: spec.image,
        // The shell sends the command's output to the run's log itself, so the log survives the runner.
        Cmd: ['/bin/sh', '-c', `exec >>${log} 2>&1\n${spec.command}`],
        Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
        WorkingDir: `${runDirInContainer}/code`,
        // Files the command writes belong to whoever owns the workspace.
        User: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
        Labels: {
          'berth.managed': 'true',
          'berth.target': config.name,
          'berth.run': spec.runId,
          'berth.rank': String(rank),
        },
        HostConfig: {
          Binds: [`${folder.dir}:${runDirInContainer}`, ...spec.binds],
          NanoCpus: spec.resources.cpu === undefined ? 0 : Math.round(spec.resources.cpu * 1e9),
          Memory: spec.resources.memoryBytes ?? 0,
          ...(spec.resources.shmBytes === undefined ? {} : { ShmSize: spec.resources.shmBytes }),
          ...(network === undefined ? {} : { NetworkMode: containerNameOf(spec.runId) }),
          Init: true,
        },
      });
      created.push({ rank, name, id: container.id });
    } catch (error) {
      await removeRankContainers(engine, created, undefined);
      throw engineError(config.dockerHost, `cannot create the job's container ${name}`, error);
    }
  }
  return created;
}

export async function startRankContainers(
  engine: Engine,
  config: ResolvedContainerTargetConfig,
  containers: readonly RankContainer[],
): Promise<void> {
  for (const container of containers) {
    try {
      await engine.getContainer(container.id).start();
    } catch (error) {
      const why = toBerthError(
        engineError(config.dockerHost, `cannot start the job's container ${container.name}`, error),
      );
      throw new BerthError(
        why.code,
        `${why.message} (the image needs /bin/sh: base image ${config.baseImage})`,
        {
          cause: error,
        },
      );
    }
  }
}

/** Removes the containers and the network, whatever state they are in. */
export async function removeRankContainers(
  engine: Engine,
  containers: readonly RankContainer[],
  network: string | undefined,
): Promise<void> {
  await Promise.all(
    containers.map((container) =>
      engine
        .getContainer(container.id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  if (network !== undefined)
    await engine
      .getNetwork(network)
      .remove()
      .catch(() => undefined);
}
