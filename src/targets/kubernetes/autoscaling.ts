/**
 * The HorizontalPodAutoscaler from `scale_settings` (type target_utilization) and the
 * PodDisruptionBudget, in the API versions discovery chose. min/max map to minReplicas and
 * maxReplicas, target_utilization_percentage to an average CPU utilization target, and the
 * scale-up and scale-down delays and polling interval to `behavior` (stabilization windows, one
 * step per polling interval). autoscaling/v1 has no behavior: the delays are then warned about.
 */
import type { HpaVersion, PdbVersion } from './discovery.js';
import type { KubeObject } from './objects.js';

/** scale_settings as spec resolution fills them; absent or `default`: no autoscaler. */
export type ScaleInput =
  | { type: 'default' }
  | {
      type: 'target_utilization';
      minInstances: number;
      maxInstances: number;
      targetUtilizationPercentage: number;
      pollingIntervalMs: number;
      scaleUpDelayMs?: number;
      scaleDownDelayMs?: number;
    };

export type TargetUtilization = Extract<ScaleInput, { type: 'target_utilization' }>;

const seconds = (ms: number): number => Math.max(0, Math.round(ms / 1000));

function behavior(scale: TargetUtilization): Record<string, unknown> {
  const period = Math.min(1800, Math.max(1, seconds(scale.pollingIntervalMs)));
  const window = (ms: number | undefined) => Math.min(3600, seconds(ms ?? 0));
  return {
    scaleUp: {
      stabilizationWindowSeconds: window(scale.scaleUpDelayMs),
      policies: [{ type: 'Pods', value: 4, periodSeconds: period }],
    },
    scaleDown: {
      stabilizationWindowSeconds: window(scale.scaleDownDelayMs ?? 300_000),
      policies: [{ type: 'Pods', value: 1, periodSeconds: period }],
    },
  };
}

export interface HpaInput {
  version: HpaVersion;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  scale: TargetUtilization;
  /** The pods request CPU: without a request, a utilization target has nothing to divide by. */
  requestsCpu: boolean;
}

export function hpaManifest(input: HpaInput, warnings: string[]): KubeObject {
  const { scale } = input;
  if (scale.minInstances < 1) {
    warnings.push(
      'scale_settings.min_instances 0: a HorizontalPodAutoscaler keeps at least 1 replica (scale to zero needs a cluster feature berth does not assume)',
    );
  }
  if (!input.requestsCpu) {
    warnings.push(
      "scale_settings.target_utilization_percentage: the autoscaler measures CPU against the pods' request, and resources sets no cpu: set resources.requests.cpu",
    );
  }
  const min = Math.max(1, scale.minInstances);
  const common = {
    apiVersion: input.version,
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: input.name, namespace: input.namespace, labels: input.labels },
  };
  const scaleTargetRef = { apiVersion: 'apps/v1', kind: 'Deployment', name: input.name };
  if (input.version === 'autoscaling/v1') {
    warnings.push(
      'scale_settings delays and polling_interval: the cluster serves only autoscaling/v1, which has no scaling behavior; its defaults apply',
    );
    return {
      ...common,
      spec: {
        scaleTargetRef,
        minReplicas: min,
        maxReplicas: Math.max(min, scale.maxInstances),
        targetCPUUtilizationPercentage: scale.targetUtilizationPercentage,
      },
    };
  }
  return {
    ...common,
    spec: {
      scaleTargetRef,
      minReplicas: min,
      maxReplicas: Math.max(min, scale.maxInstances),
      metrics: [
        {
          type: 'Resource',
          resource: {
            name: 'cpu',
            target: { type: 'Utilization', averageUtilization: scale.targetUtilizationPercentage },
          },
        },
      ],
      behavior: behavior(scale),
    },
  };
}

/** At most one pod of the deployment down at a time for a voluntary disruption (a node drain). */
export function pdbManifest(
  version: PdbVersion,
  name: string,
  namespace: string,
  labels: Record<string, string>,
): KubeObject {
  return {
    apiVersion: version,
    kind: 'PodDisruptionBudget',
    metadata: { name, namespace, labels },
    spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
  };
}
