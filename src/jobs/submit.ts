/**
 * Submitting a job: where it runs (the job's `compute` or `--target`, through the one target
 * table), the code snapshot, the run folder with its record and a Queued status, then the start.
 * A kind with no launcher is refused with what works instead.
 */
import { mkdir } from 'node:fs/promises';
import { BerthError } from '../core/errors.js';
import { parseComputeRef } from '../batch/definition/compute.js';
import { targetKinds, type TargetKind } from '../targets/target.js';
import { workSupport } from '../targets/capabilities.js';
import type { ArtifactStore } from '../workspace/artifacts.js';
import type { LoadedJob } from './load.js';
import { enqueueClusterRun, placementOf as clusterPlacement } from './cluster/queue.js';
import { launchLocalRun } from './local/launch.js';
import { containerConfigOf, launchContainerRun } from './container/launch.js';
import { jobTargetWarnings } from './target-warnings.js';
import { launchSshRun } from './ssh/launch.js';
import type { RunRecord } from './records.js';
import { newRunId, RunFolder } from './run-folder.js';
import { snapshotCode } from './snapshot.js';

export interface SubmitContext {
  workspaceDir: string;
  artifacts: ArtifactStore;
  /** A target recorded with `berth target create`; undefined when there is none of that name. */
  findTarget(name: string): Promise<{ kind: string; config: Record<string, unknown> } | undefined>;
}

interface Placement {
  kind: TargetKind;
  /** The target's settings (a cluster's Redis); empty for a bare kind. */
  config: Record<string, unknown>;
}

async function placementOf(compute: string, context: SubmitContext): Promise<Placement> {
  const ref = parseComputeRef(compute);
  if (ref.kind === 'cluster-address') return { kind: 'cluster', config: { redis: ref.redis } };
  const named = await context.findTarget(ref.name);
  const kind = named?.kind ?? ref.name;
  if (!(targetKinds as readonly string[]).includes(kind)) {
    throw new BerthError('NOT_FOUND', `target ${JSON.stringify(ref.name)} not found (see berth target list)`);
  }
  if (kind === 'cluster' && named === undefined)
    throw new BerthError(
      'BAD_INPUT',
      'a cluster job needs the cluster: name a cluster target (berth target create NAME --type cluster --redis …) or cluster:redis://host:port',
    );
  return { kind: kind as TargetKind, config: named?.config ?? {} };
}

/** Starts a queued run on a kind of target. A kind is here exactly when the table marks its jobs ready. */
export type JobLauncher = (folder: RunFolder, placement: Placement, record: RunRecord) => Promise<void>;
export const jobLaunchers: Readonly<Partial<Record<TargetKind, JobLauncher>>> = {
  local: async (folder) => {
    launchLocalRun(folder);
    await Promise.resolve();
  },
  cluster: async (folder, placement, record) =>
    enqueueClusterRun(folder, clusterPlacement(placement.config), record.definition.maxRetries),
  container: async (folder, placement, record) =>
    launchContainerRun(folder, containerConfigOf(record.definition.compute, placement.config)),
  ssh: async (folder, placement) => launchSshRun(folder, placement.config),
};

function launcherFor(kind: TargetKind, compute: string): JobLauncher {
  const support = workSupport(kind, 'jobs');
  const launcher = jobLaunchers[kind];
  if (support === 'ready' && launcher !== undefined) return launcher;
  const ready = targetKinds.filter((k) => workSupport(k, 'jobs') === 'ready').join(' or ');
  const named = compute === kind ? `"${kind}"` : `"${compute}" (${kind})`;
  if (support === 'planned')
    throw new BerthError(
      'NOT_IMPLEMENTED',
      `target ${named} will run jobs, but not yet: run jobs on ${ready}`,
    );
  throw new BerthError('INVALID_SPEC', `target ${named} runs no jobs: run jobs on ${ready}`);
}

/** Snapshots, records and starts the job; resolves its record once it is Queued. */
export async function submitJob(loaded: LoadedJob, context: SubmitContext): Promise<RunRecord> {
  const definition = loaded.definition;
  const placement = await placementOf(definition.compute, context);
  const kind = placement.kind;
  const launch = launcherFor(kind, definition.compute);
  loaded.warnings.push(...jobTargetWarnings(definition, kind));
  const snapshot =
    definition.codeDir === undefined ? undefined : await snapshotCode(definition.codeDir, context.artifacts);
  const record: RunRecord = {
    id: newRunId(definition.displayName),
    createdAt: new Date().toISOString(),
    definition,
    targetKind: kind,
    code:
      snapshot === undefined
        ? undefined
        : {
            sha256: snapshot.artifact.sha256,
            size: snapshot.artifact.size,
            files: snapshot.files.length,
            git: snapshot.git,
          },
  };
  const folder = await RunFolder.create(context.workspaceDir, record);
  if (snapshot === undefined) await mkdir(folder.workDir);
  else await context.artifacts.exportTo(snapshot.artifact, folder.dir);
  await folder.writeStatus({ state: 'Queued', processGroups: [], attempts: [] });
  try {
    await launch(folder, placement, record);
  } catch (error) {
    // A run that could not be started (Redis away, say) must not sit in the history as Queued.
    const reason = error instanceof Error ? error.message : String(error);
    await folder.updateStatus({
      state: 'Failed',
      reason: `not started: ${reason}`,
      endedAt: new Date().toISOString(),
    });
    throw error;
  }
  return record;
}
