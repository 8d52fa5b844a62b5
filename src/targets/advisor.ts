/**
 * `berth target recommend`: picks the target for a workload from the capabilities table alone, so
 * the advice can never disagree with what deploy-time validation enforces. Ranking: targets that
 * cannot run the workload are ruled out (with the reason); the rest are ordered by how well their
 * stages match, then by the table's order. Sizing follows "scale up first, then out".
 */
import { formatBytes, targetCapabilities } from './capabilities.js';
import { targetKinds, type DeploymentStage, type TargetCapabilities, type TargetKind } from './target.js';

export interface Workload {
  mode: 'realtime' | 'batch';
  /** Default false. */
  gpu?: boolean;
  /** Size of the model's files. */
  modelBytes: number;
  /** Memory the loaded model needs; default: modelBytes. */
  memoryBytes?: number;
  /** Expected load; below 1 request/s an event-driven target is worth it. Default: unknown. */
  requestsPerSecond?: number;
  /** Must keep serving with no link to the cloud. Default false. */
  offline?: boolean;
  /** Default 'production'. */
  stage?: DeploymentStage;
}

export interface Sizing {
  /** Memory per replica to start from: 150% of what the model needs. */
  memoryBytes: number;
  instanceCount: number;
  advice: string[];
}

export interface TargetChoice {
  target: TargetKind;
  reason: string;
}

export interface Recommendation extends TargetChoice {
  alternatives: TargetChoice[];
  /** The targets that cannot run the workload, and why. */
  ruledOut: TargetChoice[];
  sizing: Sizing;
}

export interface RecommendOptions {
  /** Kinds not to recommend (validation uses this to name the target to use instead). */
  exclude?: readonly TargetKind[];
}

export function startingMemory(workload: Pick<Workload, 'modelBytes' | 'memoryBytes'>): number {
  return Math.ceil(1.5 * (workload.memoryBytes ?? workload.modelBytes));
}

/** Why a target cannot run the workload, or undefined when it can. */
export function whyNot(capabilities: TargetCapabilities, workload: Workload): string | undefined {
  const memory = startingMemory(workload);
  if (workload.mode === 'realtime' && !capabilities.realtime)
    return 'runs batch jobs only, no real-time serving';
  if (workload.mode === 'batch' && !capabilities.batch) return 'does not run batch jobs';
  if (workload.gpu === true && capabilities.gpu === false) return 'CPU only, no GPU';
  if (capabilities.maxModelBytes !== undefined && workload.modelBytes > capabilities.maxModelBytes) {
    return `takes models up to ${formatBytes(capabilities.maxModelBytes)}; this one is ${formatBytes(workload.modelBytes)}`;
  }
  if (capabilities.maxMemoryBytes !== undefined && memory > capabilities.maxMemoryBytes) {
    return `gives a replica at most ${formatBytes(capabilities.maxMemoryBytes)} of memory; this model needs ${formatBytes(memory)} to start`;
  }
  if (workload.offline === true && !capabilities.offline) return 'needs a link to the control plane';
  return undefined;
}

function rank(capabilities: TargetCapabilities, workload: Workload, stage: DeploymentStage): number {
  const index = capabilities.stages.indexOf(stage);
  let score = index === -1 ? 10 : index;
  // An offline target is only worth its constraints when the workload must run offline.
  if (capabilities.offline && workload.offline !== true) score += 5;
  if (capabilities.eventDriven) {
    const sparse = workload.requestsPerSecond !== undefined && workload.requestsPerSecond < 1;
    score += sparse && workload.gpu !== true ? -0.5 : 5;
  }
  return score;
}

function describe(kind: TargetKind, workload: Workload, stage: DeploymentStage): string {
  const capabilities = targetCapabilities[kind];
  const parts = [`"${kind}" is for ${capabilities.usedFor}`];
  if (capabilities.stages.includes(stage)) parts.push(`suits the ${stage} stage`);
  if (workload.gpu === true)
    parts.push(capabilities.gpu === 'host' ? "uses the host's GPU" : 'can give replicas GPUs');
  if (capabilities.eventDriven) parts.push('pays per call, with cold starts');
  if (capabilities.autoscale) parts.push('scales automatically');
  const text = parts.join('; ');
  return capabilities.implemented ? text : `${text} (not implemented yet: deploy to local meanwhile)`;
}

function sizing(workload: Workload, stage: DeploymentStage): Sizing {
  const need = workload.memoryBytes ?? workload.modelBytes;
  const memoryBytes = startingMemory(workload);
  const advice = [
    `start each replica with ${formatBytes(memoryBytes)} of memory (150% of the model's ${formatBytes(need)})`,
    'scale up first: profile under a realistic load and raise memory and CPU per replica until latency stops improving',
    `then scale out: add replicas for throughput${workload.requestsPerSecond === undefined ? '' : ` (${workload.requestsPerSecond} requests/s expected)`}`,
  ];
  if (stage === 'production' && workload.mode === 'realtime') {
    advice.push(
      'in production, run at least 2 replicas once sized, so a restart or an update never stops serving',
    );
  }
  return { memoryBytes, instanceCount: 1, advice };
}

export function recommendTarget(workload: Workload, options: RecommendOptions = {}): Recommendation {
  const stage = workload.stage ?? 'production';
  const ruledOut: TargetChoice[] = [];
  const fitting: { kind: TargetKind; score: number; order: number }[] = [];
  targetKinds.forEach((kind, order) => {
    if (options.exclude?.includes(kind) === true) return;
    const capabilities = targetCapabilities[kind];
    const reason = whyNot(capabilities, workload);
    if (reason === undefined) fitting.push({ kind, score: rank(capabilities, workload, stage), order });
    else ruledOut.push({ target: kind, reason: `"${kind}" ${reason}` });
  });
  fitting.sort((a, b) => a.score - b.score || a.order - b.order);
  const [best, ...rest] = fitting;
  if (best === undefined) {
    // Every row rules the workload out: say so, and point at local, which has no limits of its own.
    return {
      target: 'local',
      reason: `no target fits every requirement (${ruledOut.map((choice) => choice.reason).join('; ')}); local has no limits of its own`,
      alternatives: [],
      ruledOut,
      sizing: sizing(workload, stage),
    };
  }
  return {
    target: best.kind,
    reason: describe(best.kind, workload, stage),
    alternatives: rest.map(({ kind }) => ({ target: kind, reason: describe(kind, workload, stage) })),
    ruledOut,
    sizing: sizing(workload, stage),
  };
}
