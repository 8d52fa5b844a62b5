/**
 * What `endpoint show` (and `deployment show`) say about a deployment on a Kubernetes target, read
 * from the cluster's own objects when asked: the Deployment's replicas, the autoscaler's state and
 * conditions, each pod's phase and restarts, and the recent events of the Deployment, its
 * ReplicaSets, its pods and its autoscaler. Times are ISO 8601 as the cluster wrote them.
 */
import { z } from 'zod';

export const kubernetesConditionSchema = z.object({
  type: z.string(),
  status: z.string(),
  reason: z.string().nullable(),
  message: z.string().nullable(),
});

export const kubernetesAutoscalerSchema = z.object({
  /** `HorizontalPodAutoscaler ml/shop-blue`, in the version discovery chose. */
  apiVersion: z.string(),
  name: z.string(),
  minReplicas: z.number(),
  maxReplicas: z.number(),
  currentReplicas: z.number().nullable(),
  desiredReplicas: z.number().nullable(),
  /** The average CPU utilization target, percent of the pods' request. */
  targetCpuUtilization: z.number().nullable(),
  /** The last reading, percent; null while the autoscaler has none (no metrics). */
  currentCpuUtilization: z.number().nullable(),
  lastScaleTime: z.string().nullable(),
  /** AbleToScale, ScalingActive, ScalingLimited as the controller set them. */
  conditions: z.array(kubernetesConditionSchema),
});

export const kubernetesPodSchema = z.object({
  name: z.string(),
  phase: z.string(),
  ready: z.boolean(),
  restarts: z.number(),
  node: z.string().nullable(),
  /** Why the pod is not running or not ready now (Unschedulable, CrashLoopBackOff…), with the message. */
  reason: z.string().nullable(),
  /** The last time a container of the pod ended: OOMKilled, Error, Completed… */
  lastTermination: z
    .object({ reason: z.string(), exitCode: z.number().nullable(), finishedAt: z.string().nullable() })
    .nullable(),
});

export const kubernetesEventSchema = z.object({
  type: z.string(),
  reason: z.string(),
  /** `Pod/shop-blue-7d4b9c-x2x7q` */
  object: z.string(),
  message: z.string(),
  count: z.number(),
  firstSeen: z.string().nullable(),
  lastSeen: z.string().nullable(),
});

export const kubernetesDetailsSchema = z.object({
  namespace: z.string(),
  /** The Deployment (and HPA, Service…) name. */
  name: z.string(),
  /** From the Deployment; null when it is not in the cluster. */
  replicas: z
    .object({ desired: z.number(), ready: z.number(), updated: z.number(), available: z.number() })
    .nullable(),
  /** The Deployment's conditions (Available, Progressing, ReplicaFailure). */
  conditions: z.array(kubernetesConditionSchema),
  /** Null without scale_settings (no HorizontalPodAutoscaler). */
  autoscaler: kubernetesAutoscalerSchema.nullable(),
  pods: z.array(kubernetesPodSchema),
  /** The most recent events, oldest first, at most `eventLimit`. */
  events: z.array(kubernetesEventSchema),
  eventLimit: z.number(),
  /** Events older than those shown (over the limit). */
  eventsLeftOut: z.number(),
});
export type KubernetesDetails = z.output<typeof kubernetesDetailsSchema>;
export type KubernetesAutoscaler = z.output<typeof kubernetesAutoscalerSchema>;
export type KubernetesPod = z.output<typeof kubernetesPodSchema>;
export type KubernetesEvent = z.output<typeof kubernetesEventSchema>;
export type KubernetesCondition = z.output<typeof kubernetesConditionSchema>;
