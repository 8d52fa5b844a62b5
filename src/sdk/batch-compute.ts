/**
 * Where a batch job runs: the compute reference of its file (or `--target`) looked up in the
 * workspace, then handed to the one target registry for the target's batch engine. A name is a
 * target kind (`local`) or a target recorded with `berth target create`; `cluster:redis://…` is a
 * cluster given by its address.
 */
import { BerthError, hasErrorCode, toBerthError } from '../core/errors.js';
import type { ComputeRef } from '../batch/definition/compute.js';
import type { BatchCompute } from '../batch/definition/resolve.js';
import { openBatchTarget, type BatchTarget, type TargetSettings } from '../targets/registry.js';
import { targetKinds } from '../targets/target.js';
import type { TargetRecord } from '../workspace/index.js';

/** Finds a named target; undefined when the workspace has none of that name. */
export type FindTarget = (name: string) => Promise<TargetRecord | undefined>;

export interface FoundBatchTarget {
  compute: BatchCompute;
  target: BatchTarget;
}

/** `where` names the reference in messages: `deployment.yml: compute` or `--target`. */
export async function findBatchTarget(
  ref: ComputeRef,
  where: string,
  findTarget: FindTarget,
): Promise<FoundBatchTarget> {
  const settings = await settingsOf(ref, where, findTarget);
  let target: BatchTarget;
  try {
    target = openBatchTarget(settings);
  } catch (error) {
    const berth = toBerthError(error);
    throw new BerthError(berth.code, `${where}: ${berth.message}`);
  }
  return { compute: { target: ref.written, engine: target.engine, config: target.config }, target };
}

/** The batch engine of a job already submitted: its record keeps the target's settings. */
export function reopenBatchTarget(compute: BatchCompute): BatchTarget {
  return openBatchTarget(compute.config);
}

async function settingsOf(ref: ComputeRef, where: string, findTarget: FindTarget): Promise<TargetSettings> {
  if (ref.kind === 'cluster-address') return { kind: 'cluster', name: 'cluster', redis: ref.redis };
  const { name } = ref;
  if (name === 'cluster') {
    throw new BerthError(
      'INVALID_SPEC',
      `${where}: "cluster" needs its Redis: name a cluster target (berth target create NAME --type cluster --redis redis://host:port) or write cluster:redis://host:port`,
    );
  }
  if ((targetKinds as readonly string[]).includes(name)) return { kind: name, name };
  const record = await findTarget(name).catch((error: unknown) => {
    if (hasErrorCode(error, 'NOT_FOUND')) return undefined;
    throw error;
  });
  if (record === undefined) {
    throw new BerthError(
      'NOT_FOUND',
      `${where}: no target named ${JSON.stringify(name)} in this workspace: create it (berth target create ${name} --type cluster --redis redis://host:port) or run on local (see berth target list)`,
    );
  }
  return { ...record.config, kind: record.kind, name: record.name };
}
