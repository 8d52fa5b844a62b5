/**
 * A deployment's state, read from the cluster's own objects: the Deployment's status and its pods.
 * Pure, so every watch event recomputes it the same way. A pod that cannot run says why in the
 * cluster's words: Unschedulable (with the scheduler's message, e.g. `Insufficient
 * nvidia.com/gpu`), ImagePullBackOff, ErrImagePull, CrashLoopBackOff, OOMKilled,
 * CreateContainerConfigError. That reason is the deployment's reason, never a generic timeout.
 */
import type { DeploymentState, DeploymentStatus, ReplicaStatus } from '../target.js';
import { containerPort } from '../container/build-context.js';

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

interface ContainerStatus {
  ready?: boolean;
  restartCount?: number;
  state?: {
    waiting?: { reason?: string; message?: string };
    terminated?: { reason?: string; exitCode?: number; message?: string };
  };
  lastState?: { terminated?: { reason?: string; exitCode?: number; message?: string } };
}

/**
 * What the container said last, from its termination message (the tail of its log: the pods run
 * with `FallbackToLogsOnError`): the scoring server's `{"event":"failed","message"}` line, such as
 * a scoring script's init error, else its last line.
 */
export function lastWords(message: string | undefined): string | undefined {
  const line = message
    ?.split('\n')
    .map((text) => text.trim())
    .filter((text) => text !== '')
    .at(-1);
  if (line === undefined) return undefined;
  try {
    const parsed = JSON.parse(line) as { event?: unknown; message?: unknown };
    if (parsed.event === 'failed' && typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not the server's JSON: the line as it is
  }
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

export interface PodView {
  metadata?: { name?: string; deletionTimestamp?: unknown; labels?: Record<string, string> };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: Condition[];
    containerStatuses?: ContainerStatus[];
  };
}

export interface DeploymentView {
  metadata?: { generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: Condition[];
  };
}

/** Reasons that end a deploy at once: waiting will not clear them without a change. */
export const hardReasons: ReadonlySet<string> = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'CrashLoopBackOff',
  'OOMKilled',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'ProgressDeadlineExceeded',
]);

export interface PodProblem {
  reason: string;
  message: string;
}

/** Why `pod` is not ready, in the cluster's words; undefined when nothing is wrong (yet). */
export function podProblem(pod: PodView): PodProblem | undefined {
  const status = pod.status ?? {};
  for (const container of status.containerStatuses ?? []) {
    const waiting = container.state?.waiting;
    const last = container.lastState?.terminated;
    if (last?.reason === 'OOMKilled' || container.state?.terminated?.reason === 'OOMKilled') {
      return {
        reason: 'OOMKilled',
        message: `the container passed its memory limit (restarts: ${container.restartCount ?? 0})`,
      };
    }
    if (
      waiting?.reason !== undefined &&
      waiting.reason !== 'ContainerCreating' &&
      waiting.reason !== 'PodInitializing'
    ) {
      const exit = last?.exitCode === undefined ? '' : ` (last exit code ${last.exitCode})`;
      const said = lastWords(last?.message);
      return { reason: waiting.reason, message: `${said ?? waiting.message ?? ''}${exit}`.trim() };
    }
  }
  const scheduled = status.conditions?.find((condition) => condition.type === 'PodScheduled');
  if (scheduled?.status === 'False') {
    return { reason: scheduled.reason ?? 'Unschedulable', message: scheduled.message ?? '' };
  }
  return undefined;
}

/** One pod as a replica the gateway can send to: its pod IP, its state, why it is not ready. */
export function replicaOf(pod: PodView, token: string | undefined): ReplicaStatus {
  const containers = pod.status?.containerStatuses ?? [];
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const problem = podProblem(pod);
  const state: ReplicaStatus['state'] =
    pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null
      ? 'draining'
      : ready
        ? 'ready'
        : problem !== undefined && hardReasons.has(problem.reason)
          ? 'failed'
          : problem !== undefined
            ? 'unhealthy'
            : 'starting';
  return {
    id: pod.metadata?.name ?? '(unnamed pod)',
    url: pod.status?.podIP === undefined ? undefined : `http://${pod.status.podIP}:${containerPort}`,
    state,
    restarts: containers.reduce((sum, container) => sum + (container.restartCount ?? 0), 0),
    reason: problem === undefined ? undefined : `${problem.reason}: ${problem.message}`.replace(/: $/, ''),
    ...(token === undefined ? {} : { token }),
  };
}

/** `Unschedulable: 0/0 nodes are available.` with how many pods say so. */
function summarize(replicas: readonly ReplicaStatus[]): string | undefined {
  const reasons = new Map<string, number>();
  for (const replica of replicas) {
    if (replica.reason !== undefined) reasons.set(replica.reason, (reasons.get(replica.reason) ?? 0) + 1);
  }
  if (reasons.size === 0) return undefined;
  return [...reasons].map(([reason, count]) => `${count} of ${replicas.length} pod(s): ${reason}`).join('; ');
}

export function deploymentStatus(
  deployment: DeploymentView | undefined,
  pods: readonly PodView[],
  token?: string,
): DeploymentStatus {
  if (deployment === undefined) {
    return { state: 'Failed', reason: 'the Deployment does not exist in the cluster', replicas: [] };
  }
  const replicas = pods.map((pod) => replicaOf(pod, token));
  const desired = deployment.spec?.replicas ?? 1;
  const status = deployment.status ?? {};
  const observed = (status.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0);
  const progressing = status.conditions?.find((condition) => condition.type === 'Progressing');
  const rolledOut =
    observed &&
    (status.updatedReplicas ?? 0) >= desired &&
    (status.availableReplicas ?? 0) >= desired &&
    (status.replicas ?? 0) <= desired;
  let state: DeploymentState;
  let reason = summarize(replicas);
  if (progressing?.status === 'False') {
    state = 'Failed';
    reason = [`${progressing.reason ?? 'NotProgressing'}: ${progressing.message ?? ''}`.trim(), reason]
      .filter((part) => part !== undefined)
      .join('; ');
  } else if (rolledOut && desired > 0) {
    state = 'Healthy';
    reason = undefined;
  } else if (replicas.some((replica) => replica.state === 'failed')) {
    state = 'Failed';
  } else if (reason !== undefined) {
    state = 'Unhealthy';
  } else {
    state = (status.replicas ?? 0) === 0 ? 'Creating' : 'Transitioning';
    reason = `${status.availableReplicas ?? 0} of ${desired} replica(s) available`;
  }
  return { state, reason, replicas };
}
