/**
 * A deployment as `endpoint show` reports it on a Kubernetes target, from the cluster's own
 * objects (read by inspect.ts): the Deployment's replicas and conditions, the autoscaler's state
 * in any of the versions discovery may choose, each pod's phase, readiness, restarts and last
 * termination, and the most recent events. Pure, so every shape the cluster writes is unit tested.
 */
import type {
  KubernetesAutoscaler,
  KubernetesCondition,
  KubernetesDetails,
  KubernetesEvent,
  KubernetesPod,
} from '../../core/specs/kubernetes-view.js';
import type { DeploymentView, PodView } from './state.js';
import { podProblem } from './state.js';

/** How many events `endpoint show` keeps per deployment: the most recent ones. */
export const eventLimit = 10;

interface RawCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

const condition = (raw: RawCondition): KubernetesCondition => ({
  type: raw.type ?? '?',
  status: raw.status ?? 'Unknown',
  reason: raw.reason ?? null,
  message: raw.message ?? null,
});

/** autoscaling/v2 and v2beta2 (the same shape for what is read here) and v1. */
export interface HpaObject {
  apiVersion?: string;
  metadata?: { name?: string; annotations?: Record<string, string> };
  spec?: {
    minReplicas?: number;
    maxReplicas?: number;
    targetCPUUtilizationPercentage?: number;
    metrics?: {
      type?: string;
      resource?: { name?: string; target?: { type?: string; averageUtilization?: number } };
    }[];
  };
  status?: {
    currentReplicas?: number;
    desiredReplicas?: number;
    lastScaleTime?: string;
    currentCPUUtilizationPercentage?: number;
    currentMetrics?: {
      type?: string;
      resource?: { name?: string; current?: { averageUtilization?: number } };
    }[];
    conditions?: RawCondition[];
  };
}

/** autoscaling/v1 keeps the conditions in an annotation, as JSON. */
function v1Conditions(hpa: HpaObject): RawCondition[] {
  const text = hpa.metadata?.annotations?.['autoscaling.alpha.kubernetes.io/conditions'];
  if (text === undefined) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) ? (parsed as RawCondition[]) : [];
  } catch {
    return [];
  }
}

export function autoscalerOf(hpa: HpaObject): KubernetesAutoscaler {
  const spec = hpa.spec ?? {};
  const status = hpa.status ?? {};
  const v1 = hpa.apiVersion === 'autoscaling/v1';
  const cpuTarget = spec.metrics?.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu');
  const cpuNow = status.currentMetrics?.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu');
  return {
    apiVersion: hpa.apiVersion ?? '?',
    name: hpa.metadata?.name ?? '?',
    minReplicas: spec.minReplicas ?? 1,
    maxReplicas: spec.maxReplicas ?? 0,
    currentReplicas: status.currentReplicas ?? null,
    desiredReplicas: status.desiredReplicas ?? null,
    targetCpuUtilization:
      (v1 ? spec.targetCPUUtilizationPercentage : cpuTarget?.resource?.target?.averageUtilization) ?? null,
    currentCpuUtilization:
      (v1 ? status.currentCPUUtilizationPercentage : cpuNow?.resource?.current?.averageUtilization) ?? null,
    lastScaleTime: status.lastScaleTime ?? null,
    conditions: (v1 ? v1Conditions(hpa) : (status.conditions ?? [])).map(condition),
  };
}

interface Termination {
  reason?: string;
  exitCode?: number;
  finishedAt?: string;
}

export interface InspectedPod extends PodView {
  spec?: { nodeName?: string };
  status?: PodView['status'] & {
    containerStatuses?: {
      ready?: boolean;
      restartCount?: number;
      state?: { waiting?: { reason?: string; message?: string }; terminated?: Termination };
      lastState?: { terminated?: Termination };
    }[];
  };
}

/** The latest end of any container of the pod: its last state, or its state when it has just ended. */
function lastTermination(pod: InspectedPod): KubernetesPod['lastTermination'] {
  const ends = (pod.status?.containerStatuses ?? [])
    .flatMap((container) => [container.lastState?.terminated, container.state?.terminated])
    .filter((end): end is Termination => end !== undefined);
  const latest = ends.sort((a, b) => (a.finishedAt ?? '').localeCompare(b.finishedAt ?? '')).at(-1);
  if (latest === undefined) return null;
  return {
    reason: latest.reason ?? (latest.exitCode === 0 ? 'Completed' : 'Error'),
    exitCode: latest.exitCode ?? null,
    finishedAt: latest.finishedAt ?? null,
  };
}

export function podOf(pod: InspectedPod): KubernetesPod {
  const problem = podProblem(pod);
  const deleting = pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
  return {
    name: pod.metadata?.name ?? '?',
    phase: deleting ? 'Terminating' : (pod.status?.phase ?? 'Unknown'),
    ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    restarts: (pod.status?.containerStatuses ?? []).reduce((sum, c) => sum + (c.restartCount ?? 0), 0),
    node: pod.spec?.nodeName ?? null,
    reason: problem === undefined ? null : `${problem.reason}: ${problem.message}`.replace(/: $/, ''),
    lastTermination: lastTermination(pod),
  };
}

/**
 * A core/v1 Event. Those written through events.k8s.io/v1 (the scheduler's, since 1.19) carry
 * `eventTime` and `series` instead of `lastTimestamp` and `count`.
 */
export interface EventObject {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  series?: { count?: number; lastObservedTime?: string };
  involvedObject?: { kind?: string; name?: string };
  metadata?: { creationTimestamp?: string | Date };
}

const iso = (value: string | Date | null | undefined): string | null =>
  value === undefined || value === null || value === '' ? null : new Date(value).toISOString();

export function eventOf(event: EventObject): KubernetesEvent {
  const first = iso(event.firstTimestamp) ?? iso(event.eventTime) ?? iso(event.metadata?.creationTimestamp);
  return {
    type: event.type ?? 'Normal',
    reason: event.reason ?? '?',
    object: `${event.involvedObject?.kind ?? '?'}/${event.involvedObject?.name ?? '?'}`,
    message: (event.message ?? '').trim(),
    count: Math.max(1, event.series?.count ?? event.count ?? 1),
    firstSeen: first,
    lastSeen: iso(event.series?.lastObservedTime) ?? iso(event.lastTimestamp) ?? first,
  };
}

/** The `limit` most recent events, oldest first, and how many older ones were left out. */
export function recentEvents(
  events: readonly EventObject[],
  limit = eventLimit,
): { events: KubernetesEvent[]; leftOut: number } {
  const all = events
    .map(eventOf)
    .sort((a, b) => (a.lastSeen ?? '').localeCompare(b.lastSeen ?? '') || a.object.localeCompare(b.object));
  return { events: all.slice(Math.max(0, all.length - limit)), leftOut: Math.max(0, all.length - limit) };
}

export interface InspectedObjects {
  namespace: string;
  name: string;
  deployment: (DeploymentView & { status?: { conditions?: RawCondition[] } }) | undefined;
  hpa: HpaObject | undefined;
  pods: readonly InspectedPod[];
  events: readonly EventObject[];
  limit?: number;
}

export function kubernetesDetails(objects: InspectedObjects): KubernetesDetails {
  const { deployment } = objects;
  const status = deployment?.status ?? {};
  const limit = objects.limit ?? eventLimit;
  const recent = recentEvents(objects.events, limit);
  return {
    namespace: objects.namespace,
    name: objects.name,
    replicas:
      deployment === undefined
        ? null
        : {
            desired: deployment.spec?.replicas ?? 1,
            ready: status.readyReplicas ?? 0,
            updated: status.updatedReplicas ?? 0,
            available: status.availableReplicas ?? 0,
          },
    conditions: (status.conditions ?? []).map(condition),
    autoscaler: objects.hpa === undefined ? null : autoscalerOf(objects.hpa),
    pods: [...objects.pods].map(podOf).sort((a, b) => a.name.localeCompare(b.name)),
    events: recent.events,
    eventLimit: limit,
    eventsLeftOut: recent.leftOut,
  };
}
