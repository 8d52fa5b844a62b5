/**
 * `berth target recommend`: picks the target for a workload from the capabilities table alone, so
 * the advice can never disagree with what deploy-time validation enforces. Ranking: targets that
 * cannot run the workload are ruled out (with the reason); of the rest, those that run the
 * workload today come first, ordered by how well their stages match, then by the table's order.
 * A target whose support for the workload is only planned is listed as planned and never
 * recommended ahead of one that works. Sizing follows "scale up first, then out".
 */
import { formatBytes, targetCapabilities } from './capabilities.js';
import { targetKinds, type DeploymentStage, type TargetCapabilities, type TargetKind } from './target.js';

export interface Workload {
  mode: 'realtime' | 'batch';
  /** Default false. */
  gpu?: boolean;
  /** Size of the model's files. Default: unknown (no size limit is checked, sizing says how to measure). */
  modelBytes?: number;
  /** Memory the loaded model needs; default: modelBytes. */
  memoryBytes?: number;
  /** Expected load; below 1 request/s an event-driven target is worth it. Default: unknown. */
  requestsPerSecond?: number;
  /** Must keep serving with no link to the cloud. Default false. */
  offline?: boolean;
  /** Default 'production'. */
  stage?: DeploymentStage;
  /** What `berth profile` measured for the model; sizing starts from it instead of the file size. */
  measured?: MeasuredSizing;
}

/** A model version's saved profile (core/model-profile.ts), as sizing reads it. */
export interface MeasuredSizing {
  /** Where the numbers come from, for the advice: e.g. `ocr-cls:1, profiled 2026-12-07 on local (2 cores)`. */
  source: string;
  peakRssBytes: number | null;
  /** Peak RSS x 1.5: memory per replica to start from. */
  memoryBytes: number | null;
  cpu: number | null;
  /** Requests/s one replica sustained within the SLO; null when no step was within it. */
  maxSustainedRps: number | null;
  maxConcurrentRequestsPerInstance: number | null;
  /** max_batch_size of the best step (1: batching off); null when unmeasured. */
  maxBatchSize: number | null;
}

export interface Sizing {
  /** Memory per replica (or batch worker) to start from: 150% of what the model needs; undefined when no size was given. */
  memoryBytes: number | undefined;
  instanceCount: number;
  advice: string[];
}

export interface TargetChoice {
  target: TargetKind;
  reason: string;
}

export interface Recommendation extends TargetChoice {
  /** The other targets that run the workload today, best first. */
  alternatives: TargetChoice[];
  /** Targets that would fit but whose support for the workload is planned, not built yet. */
  planned: TargetChoice[];
  /** The targets that cannot run the workload, and why. */
  ruledOut: TargetChoice[];
  sizing: Sizing;
}

export interface RecommendOptions {
  /** Kinds not to recommend (validation uses this to name the target to use instead). */
  exclude?: readonly TargetKind[];
}

/** What the loaded model needs; undefined when neither its size nor its memory is known (0 says nothing either). */
function modelNeed(workload: Pick<Workload, 'modelBytes' | 'memoryBytes'>): number | undefined {
  const need = workload.memoryBytes ?? workload.modelBytes;
  return need === undefined || need <= 0 ? undefined : need;
}

/** The measured start (peak RSS x 1.5) when profiled, else 150% of what the model needs; undefined when neither is known. */
export function startingMemory(
  workload: Pick<Workload, 'modelBytes' | 'memoryBytes' | 'measured'>,
): number | undefined {
  const measured = workload.measured?.memoryBytes;
  if (measured !== undefined && measured !== null && measured > 0) return measured;
  const need = modelNeed(workload);
  return need === undefined ? undefined : Math.ceil(1.5 * need);
}

/** Why a target cannot run the workload (even once built), or undefined when it can. */
export function whyNot(capabilities: TargetCapabilities, workload: Workload): string | undefined {
  const memory = startingMemory(workload);
  if (workload.mode === 'realtime' && !capabilities.realtime)
    return 'runs batch jobs only, no real-time serving';
  if (workload.mode === 'batch' && !capabilities.batch) return 'does not run batch jobs';
  if (workload.gpu === true && capabilities.gpu === false) return 'CPU only, no GPU';
  const model = workload.modelBytes;
  if (capabilities.maxModelBytes !== undefined && model !== undefined && model > capabilities.maxModelBytes) {
    return `takes models up to ${formatBytes(capabilities.maxModelBytes)}; this one is ${formatBytes(model)}`;
  }
  if (
    capabilities.maxMemoryBytes !== undefined &&
    memory !== undefined &&
    memory > capabilities.maxMemoryBytes
  ) {
    return `gives a replica at most ${formatBytes(capabilities.maxMemoryBytes)} of memory; this model needs ${formatBytes(memory)} to start`;
  }
  if (workload.offline === true && !capabilities.offline) return 'needs a link to the control plane';
  return undefined;
}

/** Runs the workload's kind of work today (not only planned). */
function worksToday(capabilities: TargetCapabilities, workload: Workload): boolean {
  return capabilities.work[workload.mode] === 'ready';
}

function rank(capabilities: TargetCapabilities, workload: Workload, stage: DeploymentStage): number {
  const index = capabilities.stages.indexOf(stage);
  let score = index === -1 ? 10 : index;
  // An offline target is only worth its constraints when the workload must run offline.
  // A device fleet is the answer when the work must run with no link, and a poor one otherwise.
  if (capabilities.offline && workload.offline !== true) score += 20;
  // Batch work goes first to the target built for it; one that also runs it comes after.
  if (workload.mode === 'batch' && !capabilities.usedFor.includes('batch')) score += 0.5;
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
  if (capabilities.autoscale) parts.push('scales with the load');
  const text = parts.join('; ');
  return worksToday(capabilities, workload) ? text : `${text} (planned: not built yet)`;
}

/** Sizing from a saved profile: memory and CPU from the measured peak, replicas from the measured rate. */
function measuredSizing(workload: Workload, measured: MeasuredSizing, stage: DeploymentStage): Sizing {
  const unit = workload.mode === 'batch' ? 'worker' : 'replica';
  const memoryBytes = startingMemory(workload);
  const advice: string[] = [];
  advice.push(
    memoryBytes === undefined || measured.peakRssBytes === null
      ? `the profile (${measured.source}) measured no memory peak: profile again, or start each ${unit} with 150% of what the loaded model needs`
      : `start each ${unit} with ${formatBytes(memoryBytes)} of memory (150% of the ${formatBytes(measured.peakRssBytes)} peak measured by ${measured.source})` +
          (measured.cpu === null ? '' : ` and ${measured.cpu} CPU`),
  );
  if (measured.maxConcurrentRequestsPerInstance !== null)
    advice.push(
      `set max_concurrent_requests_per_instance to ${measured.maxConcurrentRequestsPerInstance} (the best step within the SLO)`,
    );
  if (measured.maxBatchSize !== null)
    advice.push(
      measured.maxBatchSize > 1
        ? `set batching: {enabled: true, max_batch_size: ${measured.maxBatchSize}} (the best throughput within the SLO)`
        : 'leave batching off (max_batch_size 1 had the best throughput within the SLO)',
    );
  let instanceCount = 1;
  const rps = workload.requestsPerSecond;
  if (measured.maxSustainedRps === null || measured.maxSustainedRps <= 0) {
    advice.push(
      'no load step stayed within the SLO: scale up (more CPU or memory per replica) and profile again before scaling out',
    );
  } else if (rps === undefined) {
    advice.push(
      `one ${unit} sustained ${measured.maxSustainedRps} requests/s: pass --rps to get the ${unit} count`,
    );
  } else {
    instanceCount = Math.max(1, Math.ceil(rps / measured.maxSustainedRps));
    advice.push(
      `run ${instanceCount} ${unit}${instanceCount === 1 ? '' : 's'} for ${rps} requests/s (one sustained ${measured.maxSustainedRps} requests/s)`,
    );
  }
  if (stage === 'production' && workload.mode === 'realtime' && instanceCount < 2) {
    instanceCount = 2;
    advice.push('in production, run at least 2 replicas, so a restart or an update never stops serving');
  }
  return { memoryBytes, instanceCount, advice };
}

function sizing(workload: Workload, stage: DeploymentStage): Sizing {
  if (workload.measured !== undefined) return measuredSizing(workload, workload.measured, stage);
  const unit = workload.mode === 'batch' ? 'worker' : 'replica';
  const memoryBytes = startingMemory(workload);
  const need = modelNeed(workload);
  const first =
    memoryBytes === undefined || need === undefined
      ? `measure what the loaded model needs (berth profile MODEL, then --model here; its file size is a floor: berth model show; or pass --model-size / --memory here) and start each ${unit} with 150% of it`
      : `start each ${unit} with ${formatBytes(memoryBytes)} of memory (150% of the model's ${formatBytes(need)})`;
  const advice = [
    first,
    `scale up first: profile under a realistic load and raise memory and CPU per ${unit} until ${workload.mode === 'batch' ? 'throughput' : 'latency'} stops improving`,
    `then scale out: add ${unit}s for throughput${workload.requestsPerSecond === undefined ? '' : ` (${workload.requestsPerSecond} requests/s expected)`}`,
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
  const planned: { kind: TargetKind; score: number; order: number }[] = [];
  targetKinds.forEach((kind, order) => {
    if (options.exclude?.includes(kind) === true) return;
    const capabilities = targetCapabilities[kind];
    const reason = whyNot(capabilities, workload);
    if (reason !== undefined) ruledOut.push({ target: kind, reason: `"${kind}" ${reason}` });
    else
      (worksToday(capabilities, workload) ? fitting : planned).push({
        kind,
        score: rank(capabilities, workload, stage),
        order,
      });
  });
  const byFit = (a: { score: number; order: number }, b: { score: number; order: number }): number =>
    a.score - b.score || a.order - b.order;
  fitting.sort(byFit);
  planned.sort(byFit);
  const choice = ({ kind }: { kind: TargetKind }): TargetChoice => ({
    target: kind,
    reason: describe(kind, workload, stage),
  });
  const [best, ...rest] = fitting;
  if (best === undefined) {
    // Nothing that works today fits: say so, name what is planned, and point at local, which has
    // no limits of its own.
    const later = planned.length === 0 ? '' : `; planned: ${planned.map(({ kind }) => kind).join(', ')}`;
    return {
      target: 'local',
      reason: `no target that works today fits every requirement (${ruledOut.map((out) => out.reason).join('; ')})${later}; local has no limits of its own`,
      alternatives: [],
      planned: planned.map(choice),
      ruledOut,
      sizing: sizing(workload, stage),
    };
  }
  return {
    target: best.kind,
    reason: describe(best.kind, workload, stage),
    alternatives: rest.map(choice),
    planned: planned.map(choice),
    ruledOut,
    sizing: sizing(workload, stage),
  };
}
