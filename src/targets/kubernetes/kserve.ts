/**
 * A deployment as a KServe `InferenceService` (serving.kserve.io/v1beta1), for clusters that run
 * KServe, when the target says `kserve: true` (`berth target create … --kserve`). The predictor is
 * a custom container: berth's own scoring server image, which speaks the Open Inference Protocol
 * v2 (`/v2/models/<name>/infer`, `/v2/health/ready`) that KServe's v2 protocol is. KServe then owns
 * the Deployment, Service and autoscaler; berth still writes the ConfigMap (environment variables)
 * and the Secret (the replica token) the container reads. Scale: `scale_settings`
 * target_utilization becomes min/max replicas with a CPU target, else `instance_count` is both.
 *
 * The server must serve serving.kserve.io/v1beta1 (KServe's CRDs installed); where it does not,
 * berth refuses with that reason instead of writing objects the cluster cannot take.
 */
import { ApisApi } from '@kubernetes/client-node';
import { BerthError } from '../../core/errors.js';
import { containerPort } from '../container/build-context.js';
import { scaleOf, type Manifests } from './manifests.js';
import type { Cluster } from './client.js';
import { apiError } from './client.js';
import type { KubeObject } from './objects.js';
import type { ResolvedDeployment } from '../target.js';

export const kserveApiVersion = 'serving.kserve.io/v1beta1';
const refusal = 'KServe is not installed there';

interface PodTemplate {
  spec: {
    template: {
      spec: {
        containers: Record<string, unknown>[];
        imagePullSecrets?: unknown[];
        terminationGracePeriodSeconds?: number;
      };
    };
  };
}

/** Whether `error` is the refusal of a cluster that does not serve KServe (not a reason to fall back). */
export function isKserveRefusal(error: unknown): boolean {
  return error instanceof Error && error.message.includes(refusal);
}

/** Refuses (INVALID_SPEC) when the server does not serve serving.kserve.io/v1beta1. */
export async function requireKserve(cluster: Cluster): Promise<void> {
  let versions: string[];
  try {
    const groups = await cluster.config.makeApiClient(ApisApi).getAPIVersions();
    versions = groups.groups.flatMap((group) => group.versions.map((version) => version.groupVersion));
  } catch (error) {
    throw apiError(`discovery at ${cluster.server}`, error);
  }
  if (!versions.includes(kserveApiVersion)) {
    const served = versions.filter((version) => version.startsWith('serving.kserve.io/'));
    throw new BerthError(
      'INVALID_SPEC',
      `the target says kserve, but the cluster at ${cluster.server} does not serve ${kserveApiVersion} (${served.length === 0 ? 'no serving.kserve.io API at all' : `only ${served.join(', ')}`}): ${refusal}. Install KServe, or create the target without --kserve for a Deployment and Service`,
    );
  }
}

/**
 * Turns the objects of a deployment (manifests.ts) into their KServe form: the ConfigMap and
 * Secret as they are, and an InferenceService whose predictor runs the Deployment's container.
 */
export function kserveManifests(spec: ResolvedDeployment, plain: Manifests): Manifests {
  const kept = plain.objects.filter((object) => object.kind === 'ConfigMap' || object.kind === 'Secret');
  const deployment = plain.objects.find((object) => object.kind === 'Deployment') as
    (KubeObject & PodTemplate) | undefined;
  if (deployment === undefined)
    throw new BerthError('INTERNAL', 'the deployment has no Deployment to convert');
  const pod = deployment.spec.template.spec;
  const [container] = pod.containers;
  const byNumber = (probe: unknown) => {
    const settings = probe as { httpGet: Record<string, unknown> } | undefined;
    return settings === undefined
      ? undefined
      : { ...settings, httpGet: { ...settings.httpGet, port: containerPort } };
  };
  const scale = scaleOf(spec);
  const replicas =
    scale.type === 'target_utilization'
      ? {
          // 0 is KServe's scale to zero (its serverless mode).
          minReplicas: scale.minInstances,
          maxReplicas: scale.maxInstances,
          scaleMetric: 'cpu',
          scaleTarget: scale.targetUtilizationPercentage,
        }
      : { minReplicas: spec.instanceCount, maxReplicas: spec.instanceCount };
  const warnings = plain.warnings.filter((warning) => !/HorizontalPodAutoscaler|autoscaling\//.test(warning));
  if (
    scale.type === 'target_utilization' &&
    (scale.scaleUpDelayMs !== undefined || scale.scaleDownDelayMs !== undefined)
  ) {
    warnings.push(
      'scale_settings scale-up and scale-down delays are not honoured on KServe: its autoscaler decides',
    );
  }
  const inferenceService: KubeObject = {
    apiVersion: kserveApiVersion,
    kind: 'InferenceService',
    metadata: { ...deployment.metadata },
    spec: {
      predictor: {
        ...replicas,
        containers: [
          {
            ...container,
            // KServe's custom predictor container; its port named for HTTP/1 (KServe and Knative read the name).
            name: 'kserve-container',
            ports: [{ name: 'http1', containerPort, protocol: 'TCP' }],
            livenessProbe: byNumber(container?.livenessProbe),
            readinessProbe: byNumber(container?.readinessProbe),
          },
        ],
        ...(pod.imagePullSecrets === undefined ? {} : { imagePullSecrets: pod.imagePullSecrets }),
        ...(pod.terminationGracePeriodSeconds === undefined
          ? {}
          : { terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds }),
      },
    },
  };
  return { name: plain.name, labels: plain.labels, objects: [...kept, inferenceService], warnings };
}
