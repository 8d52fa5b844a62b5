/**
 * What the control plane answers about endpoints and deployments: the JSON shapes of its REST API,
 * of the SDK's return values and of the CLI's `--json` output. Defined once with zod so the SDK
 * checks every answer it reads (the API is a process boundary).
 */
import { z } from 'zod';
import { kubernetesDetailsSchema } from './kubernetes-view.js';

export const deploymentStates = [
  'Creating',
  'Transitioning',
  'Healthy',
  'Unhealthy',
  'Failed',
  'Deleting',
] as const;
export type DeploymentStateName = (typeof deploymentStates)[number];

export const replicaViewSchema = z.object({
  id: z.string(),
  url: z.string().nullable(),
  state: z.string(),
  restarts: z.number(),
  reason: z.string().nullable(),
});

/** An autoscaled deployment's replicas now and wanted, and the last scaling decision. */
export const scalingViewSchema = z.object({
  replicas: z.number(),
  desired: z.number(),
  minInstances: z.number(),
  maxInstances: z.number(),
  targetUtilizationPercentage: z.number(),
  utilization: z.number().nullable(),
  lastDecision: z.object({ at: z.string(), from: z.number(), to: z.number(), reason: z.string() }).nullable(),
  lastPoll: z.string().nullable(),
});
export type ScalingView = z.output<typeof scalingViewSchema>;

export const deploymentViewSchema = z.object({
  name: z.string(),
  endpointName: z.string(),
  target: z.string(),
  model: z.string(),
  state: z.enum(deploymentStates),
  reason: z.string().nullable(),
  instanceCount: z.number(),
  replicas: z.array(replicaViewSchema),
  /** With scale_settings target_utilization on a target that autoscales; else null. */
  scaling: scalingViewSchema.nullable().optional(),
  /** On a Kubernetes target: replicas, autoscaler, pods and recent events, from the cluster; else null. */
  kubernetes: kubernetesDetailsSchema.nullable().optional(),
  traffic: z.number(),
  mirrorTraffic: z.number(),
  /** The stored spec (Azure-shaped YAML fields), as `deployment update --set` edits it. */
  spec: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type DeploymentView = z.output<typeof deploymentViewSchema>;

export const endpointViewSchema = z.object({
  name: z.string(),
  description: z.string(),
  tags: z.record(z.string(), z.string()),
  authMode: z.enum(['key', 'none']),
  target: z.string(),
  state: z.enum(deploymentStates),
  reason: z.string().nullable(),
  scoringUri: z.string(),
  swaggerUri: z.string(),
  traffic: z.record(z.string(), z.number()),
  mirrorTraffic: z.record(z.string(), z.number()),
  deployments: z.array(deploymentViewSchema),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type EndpointView = z.output<typeof endpointViewSchema>;

export const endpointKeysSchema = z.object({ primaryKey: z.string(), secondaryKey: z.string() });
export type EndpointKeys = z.output<typeof endpointKeysSchema>;

export const serverStatusSchema = z.object({
  pid: z.number(),
  url: z.string(),
  gatewayUrl: z.string(),
  workspace: z.string(),
  startedAt: z.string(),
  endpoints: z.number(),
  deployments: z.number(),
});
export type ServerStatus = z.output<typeof serverStatusSchema>;
