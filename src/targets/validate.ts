/**
 * Deploy-time checks of a deployment against its target's row of the capabilities table. A spec
 * the target cannot run is refused with INVALID_SPEC, the reason, and the target to use instead
 * (from the advisor, so the two never disagree); fields the target ignores come back as warnings.
 */
import { BerthError } from '../core/errors.js';
import { recommendTarget, type Workload } from './advisor.js';
import { formatBytes, targetCapabilities } from './capabilities.js';
import { targetKinds, type ResolvedDeployment, type TargetCapabilities, type TargetKind } from './target.js';

function kindOf(capabilities: TargetCapabilities): TargetKind | undefined {
  return targetKinds.find((kind) => targetCapabilities[kind] === capabilities);
}

function workloadOf(spec: ResolvedDeployment, capabilities: TargetCapabilities): Workload {
  return {
    mode: 'realtime',
    gpu: spec.resources.gpu > 0,
    modelBytes: spec.model.sizeBytes,
    // The advisor sizes at 150% of the need; a memory request is already that starting size.
    memoryBytes: spec.resources.memoryBytes === undefined ? undefined : spec.resources.memoryBytes / 1.5,
    stage: capabilities.stages[0],
  };
}

function refusals(spec: ResolvedDeployment, capabilities: TargetCapabilities, name: string): string[] {
  const reasons: string[] = [];
  if (!capabilities.realtime) reasons.push(`target ${name} runs batch jobs only, no real-time serving`);
  if (spec.resources.gpu > 0 && capabilities.gpu === false) {
    reasons.push(`target ${name} is CPU only, and resources.gpu asks for ${spec.resources.gpu} GPU(s)`);
  }
  if (capabilities.maxModelBytes !== undefined && spec.model.sizeBytes > capabilities.maxModelBytes) {
    reasons.push(
      `target ${name} takes models up to ${formatBytes(capabilities.maxModelBytes)}, and model "${spec.model.name}" version ${spec.model.version} is ${formatBytes(spec.model.sizeBytes)}`,
    );
  }
  const memory = spec.resources.memoryBytes;
  if (
    capabilities.maxMemoryBytes !== undefined &&
    memory !== undefined &&
    memory > capabilities.maxMemoryBytes
  ) {
    reasons.push(
      `target ${name} gives a replica at most ${formatBytes(capabilities.maxMemoryBytes)} of memory, and resources.memory asks for ${formatBytes(memory)}`,
    );
  }
  return reasons;
}

function warnings(spec: ResolvedDeployment, capabilities: TargetCapabilities, name: string): string[] {
  const found: string[] = [];
  if (!capabilities.enforcesResources) {
    // The engine does not hold a replica to them; the scoring server holds itself to its memory.
    const said: string[] = [];
    if (spec.resources.cpu !== undefined)
      said.push(`resources.cpu is not enforced on target ${name}: a replica may use more CPU`);
    if (spec.resources.memoryBytes !== undefined)
      said.push(
        `resources.memory is held by the replica's scoring server itself on target ${name} (it replaces a worker past it), not by the operating system`,
      );
    if (said.length > 0) found.push(said.join('; '));
  }
  if (spec.resources.gpu > 0 && capabilities.gpu === 'host') {
    found.push(
      `resources.gpu: target ${name} uses the host's GPU when it has one (CUDA), and the CPU otherwise`,
    );
  }
  if (capabilities.eventDriven && spec.instanceCount > 1) {
    found.push(`instanceCount is ignored on target ${name}: the platform scales per event`);
  }
  return found;
}

/**
 * Throws INVALID_SPEC when the target cannot run the deployment; returns the warnings otherwise.
 * `kind` names the target in messages; by default it is found from the table row.
 */
export function validateForTarget(
  spec: ResolvedDeployment,
  capabilities: TargetCapabilities,
  kind?: TargetKind,
): string[] {
  const targetKind = kind ?? kindOf(capabilities);
  const name =
    targetKind === undefined || targetKind === spec.target
      ? `"${spec.target}"`
      : `"${spec.target}" (${targetKind})`;
  const reasons = refusals(spec, capabilities, name);
  if (reasons.length > 0) {
    const advice = recommendTarget(workloadOf(spec, capabilities), {
      exclude: targetKind === undefined ? [] : [targetKind],
    });
    const others = advice.alternatives.slice(0, 2).map((choice) => choice.target);
    const instead = `use target kind "${advice.target}" instead${others.length > 0 ? ` (or ${others.join(', ')})` : ''}: ${advice.reason}`;
    throw new BerthError(
      'INVALID_SPEC',
      `cannot deploy "${spec.endpointName}/${spec.deploymentName}": ${reasons.join('; ')}; ${instead}`,
    );
  }
  return warnings(spec, capabilities, name);
}
