/**
 * Runs a job in containers: the job image (image.ts) with the run folder mounted at /berth/run
 * (the code snapshot is its `code/`, the command's working folder, so `outputs/`, `logs/`, the
 * metrics and the history are written straight into the run), each path input mounted read-only
 * under /berth/inputs, `resources` as the engine's CPU, memory and /dev/shm limits, one container
 * per rank (ranks.ts). The command's stdout and stderr go to the run's log from inside the
 * container, so nothing is lost if this runner dies. The first rank to fail stops the others; a
 * cancel (`signal`) or `limits.timeout` stops them all (SIGTERM, then SIGKILL after a grace). The
 * containers are removed once the end is recorded.
 */
import { basename } from 'node:path';
import { hostname } from 'node:os';
import type { ResolvedContainerTargetConfig } from '../../targets/container/config.js';
import { connectEngine, engineError, pingEngine, type Engine } from '../../targets/container/engine.js';
import { substituteCommand, type JobInput } from '../definition.js';
import type { RunStatus } from '../records.js';
import type { RunFolder } from '../run-folder.js';
import { hasCompiledTypeScript, typeScriptNodeOptions } from '../typescript.js';
import { prepareWorkDir } from '../work-dir.js';
import { ensureJobImage, inputsDirInContainer, runDirInContainer } from './image.js';
import {
  containerPaths,
  createRankContainers,
  createRankNetwork,
  removeRankContainers,
  startRankContainers,
  type RankContainer,
} from './ranks.js';

export { containerNameOf } from './ranks.js';

export interface ContainerAttemptOptions {
  /** Aborted: stop the containers and record Canceled. */
  signal?: AbortSignal | undefined;
  progress?: (line: string) => void;
}

const pollMs = 500;
/** Seconds between the stop's SIGTERM and its SIGKILL: time for a trainer to save a checkpoint. */
const stopGraceSeconds = 10;

/** The inputs as the command sees them, and the read-only mounts that put them there. */
function bindInputs(inputs: Readonly<Record<string, JobInput>>): {
  inputs: Record<string, JobInput>;
  binds: string[];
} {
  const bound: Record<string, JobInput> = {};
  const binds: string[] = [];
  for (const [name, input] of Object.entries(inputs)) {
    if (input.kind === 'value') {
      bound[name] = input;
      continue;
    }
    const inside =
      input.type === 'uri_folder'
        ? `${inputsDirInContainer}/${name}`
        : `${inputsDirInContainer}/${name}/${basename(input.path)}`;
    binds.push(`${input.path}:${inside}:ro`);
    bound[name] = { ...input, path: inside };
  }
  return { inputs: bound, binds };
}

async function delay(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

interface Exit {
  rank: number;
  exitCode: number;
  oomKilled: boolean;
}

/** The exit of each rank, as the containers stop; `onTick` may stop them (a cancel, a timeout, a failed rank). */
async function waitForExits(
  engine: Engine,
  dockerHost: string,
  containers: readonly RankContainer[],
  onTick: (exits: readonly Exit[]) => Promise<void>,
): Promise<Exit[]> {
  const exits = new Map<number, Exit>();
  for (;;) {
    await onTick([...exits.values()]);
    for (const container of containers) {
      if (exits.has(container.rank)) continue;
      let state;
      try {
        state = (await engine.getContainer(container.id).inspect()).State;
      } catch (error) {
        throw engineError(dockerHost, `cannot inspect the job's container ${container.name}`, error);
      }
      if (!state.Running && state.Status !== 'created')
        exits.set(container.rank, {
          rank: container.rank,
          exitCode: state.ExitCode,
          oomKilled: state.OOMKilled,
        });
    }
    // In the order the ranks ended: the first failure is the one that ended the others.
    if (exits.size === containers.length) return [...exits.values()];
    await delay(pollMs);
  }
}

export async function runContainerAttempt(
  folder: RunFolder,
  config: ResolvedContainerTargetConfig,
  options: ContainerAttemptOptions = {},
): Promise<RunStatus> {
  const progress = options.progress ?? ((line: string) => process.stdout.write(`${line}\n`));
  const record = await folder.record();
  const definition = record.definition;
  const previous = await folder.status();
  const attemptNumber = previous.attempts.length + 1;
  await folder.updateStatus({ state: 'Preparing', reason: undefined, runnerPid: process.pid });
  const now = (): string => new Date().toISOString();
  const canceled = (): Promise<RunStatus> =>
    folder.updateStatus({ state: 'Canceled', reason: 'canceled by request', endedAt: now() });

  await prepareWorkDir(folder, definition.outputs);
  const engine = connectEngine(config.dockerHost, config.apiTimeoutMs);
  await pingEngine(engine, config.dockerHost);
  const image = await ensureJobImage(engine, config.dockerHost, {
    baseImage: config.baseImage,
    python: definition.python,
    cacheDir: config.cacheDir,
    progress,
  });
  if (options.signal?.aborted) return canceled();

  const { inputs, binds } = bindInputs(definition.inputs);
  const outputs = Object.fromEntries(
    definition.outputs.map((name) => [name, `${containerPaths.outputsDir}/${name}`]),
  );
  const spec = {
    runId: record.id,
    image,
    command: substituteCommand(definition.command, inputs, outputs),
    worldSize: definition.instanceCount,
    environment: hasCompiledTypeScript(folder.workDir)
      ? {
          ...definition.environmentVariables,
          // The image's own NODE_OPTIONS are not seen from here: a job that needs them sets them.
          NODE_OPTIONS: typeScriptNodeOptions(
            runDirInContainer,
            definition.environmentVariables.NODE_OPTIONS,
          ),
        }
      : definition.environmentVariables,
    binds,
    resources: definition.resources,
  };
  const network = await createRankNetwork(engine, config, spec);
  let containers: RankContainer[] = [];
  let ending: { state: 'Failed' | 'Canceled'; reason: string } | undefined;
  const timeoutAt =
    definition.timeoutSeconds === undefined ? undefined : Date.now() + definition.timeoutSeconds * 1000;
  try {
    containers = await createRankContainers(engine, config, folder, spec, network);
    await startRankContainers(engine, config, containers);
    const startedAt = now();
    const where = `container ${containers[0]?.name ?? ''}${containers.length > 1 ? ` and ${containers.length - 1} more` : ''} (${config.name}, ${hostname()})`;
    await folder.updateStatus({
      state: 'Running',
      command: spec.command,
      startedAt: previous.startedAt ?? startedAt,
      attempts: [...previous.attempts, { attempt: attemptNumber, startedAt, where }],
    });
    const stop = async (state: 'Failed' | 'Canceled', reason: string): Promise<void> => {
      if (ending !== undefined) return;
      ending = { state, reason };
      await Promise.all(
        containers.map(
          (container) =>
            engine
              .getContainer(container.id)
              .stop({ t: stopGraceSeconds })
              .catch(() => undefined), // already stopped
        ),
      );
    };
    const exits = await waitForExits(engine, config.dockerHost, containers, async (sofar) => {
      const failed = sofar.find((exit) => exit.exitCode !== 0);
      if (options.signal?.aborted) await stop('Canceled', 'canceled by request');
      else if (timeoutAt !== undefined && Date.now() >= timeoutAt)
        await stop('Failed', `ran past limits.timeout of ${definition.timeoutSeconds}s`);
      else if (failed !== undefined && containers.length > 1 && sofar.length < containers.length)
        await stop(
          'Failed',
          `rank ${failed.rank} exited with code ${failed.exitCode}; the other ranks were ended`,
        );
    });
    const failed = exits.find((exit) => exit.exitCode !== 0);
    const exitCode = failed?.exitCode ?? exits[0]?.exitCode ?? 0;
    const oom = exits.find((exit) => exit.oomKilled);
    const final =
      ending ??
      (oom !== undefined
        ? {
            state: 'Failed' as const,
            reason: `rank ${oom.rank} was killed for using more than its memory limit (resources.memory: ${spec.resources.memoryBytes ?? 'the engine default'} bytes)`,
          }
        : failed === undefined
          ? { state: 'Completed' as const, reason: undefined }
          : {
              state: 'Failed' as const,
              reason: `exited with code ${exitCode} (see berth job logs ${record.id}${containers.length > 1 ? ` --rank ${failed.rank}` : ''})`,
            });
    // Removed before the end is recorded: whoever sees the end sees nothing left running.
    await removeRankContainers(engine, containers, network);
    const endedAt = now();
    const status = await folder.status();
    return await folder.updateStatus({
      state: final.state,
      reason: final.reason,
      endedAt,
      exitCode,
      attempts: status.attempts.map((a) =>
        a.attempt === attemptNumber ? { ...a, endedAt, exitCode, reason: final.reason } : a,
      ),
    });
  } finally {
    await removeRankContainers(engine, containers, network);
  }
}
