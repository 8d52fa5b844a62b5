/**
 * The capabilities table and the advisor, for the SDK and the CLI: both are pure reads of the
 * targets layer, so no control plane is needed to answer them.
 */
import { BerthError } from '../core/errors.js';
import { recommendTarget, type Recommendation, type Workload } from '../targets/advisor.js';
import { formatBytes, targetCapabilities } from '../targets/capabilities.js';
import { createSshTarget, sshTargetConfigSchema, type MachineReport } from '../targets/ssh/index.js';
import { targetKinds, type TargetCapabilities, type TargetKind } from '../targets/target.js';

export type TargetRow = { kind: TargetKind } & TargetCapabilities;

export function listTargets(): TargetRow[] {
  return targetKinds.map((kind) => ({ kind, ...targetCapabilities[kind] }));
}

export function showTarget(kind: string): TargetRow {
  const found = targetKinds.find((candidate) => candidate === kind);
  if (found === undefined) {
    throw new BerthError(
      'NOT_FOUND',
      `no target kind ${JSON.stringify(kind)}: use one of ${targetKinds.join(', ')}`,
    );
  }
  return { kind: found, ...targetCapabilities[found] };
}

/**
 * A named ssh target's machine, read over its own connection (opened and closed here): whether it
 * answers, OS, arch, cores, memory, Node.js, GPUs, and what it lacks to run replicas.
 */
export async function inspectSshTarget(settings: Record<string, unknown>): Promise<MachineReport> {
  const target = createSshTarget(sshTargetConfigSchema.parse({ ...settings, kind: 'ssh' }));
  try {
    return await target.inspect();
  } finally {
    await target.close();
  }
}

export function recommend(workload: Workload): Recommendation {
  return recommendTarget(workload);
}

export type { MachineReport, Recommendation, Workload };
/** Sizes as the capabilities table words them (`1 GB`). */
export { formatBytes };
