/**
 * The objects one deployment is made of, from the resolved deployment: a Deployment (requests and
 * limits from `resources`, nvidia.com/gpu for GPUs, probes from the YAML, rolling update with no
 * pod down before its replacement is ready, topology spread across nodes), a Service, a Secret
 * (the replica token the gateway sends), a ConfigMap (the environment variables), a
 * PodDisruptionBudget, and a HorizontalPodAutoscaler when `scale_settings` asks for one. Every
 * object carries berth's labels (names.ts). Pure: the same input gives the same objects, so a
 * re-apply changes nothing.
 */
import { createHash } from 'node:crypto';
import { REPLICA_TOKEN_ENV } from '../../core/replica-token.js';
import { STOP_DELAY_ENV } from '../../core/stop-delay.js';
import { containerPort } from '../container/build-context.js';
import { replicaStopGraceMs } from '../shared/scoring-options.js';
import type { ProbeSettings, ResolvedDeployment } from '../target.js';
import { hpaManifest, pdbManifest, type ScaleInput } from './autoscaling.js';
import type { ServedApis } from './discovery.js';
import { objectName, ownedLabels } from './names.js';
import type { KubeObject } from './objects.js';

export const tokenKey = 'replica-token';
export const configHashAnnotation = 'berth.dev/config-sha256';
export const modelAnnotation = 'berth.dev/model';
/**
 * How long a pod keeps serving after its SIGTERM (readiness at 503 meanwhile): the Endpoints
 * behind a Service and berth's own pod watches learn of a deletion a moment after the kubelet
 * does, and a request sent in that moment must still be answered.
 */
export const podStopDelayMs = 3000;

export interface ManifestInput {
  spec: ResolvedDeployment;
  namespace: string;
  image: string;
  imagePullSecret: string | undefined;
  /** The replica token: the same on every apply of the deployment (kept in its Secret). */
  token: string;
  apis: ServedApis;
}

export interface Manifests {
  name: string;
  labels: Record<string, string>;
  objects: KubeObject[];
  /** Settings the manifests cannot carry as asked (e.g. min_instances 0). */
  warnings: string[];
}

/** The scale settings resolution filled, if the resolved deployment carries them. */
export function scaleOf(spec: ResolvedDeployment): ScaleInput {
  return (spec as ResolvedDeployment & { scaleSettings?: ScaleInput }).scaleSettings ?? { type: 'default' };
}

function probe(path: string, settings: ProbeSettings, liveness: boolean): Record<string, unknown> {
  const seconds = (ms: number, min: number) => Math.max(min, Math.ceil(ms / 1000));
  return {
    httpGet: { path, port: 'http' },
    initialDelaySeconds: seconds(settings.initialDelayMs, 0),
    periodSeconds: seconds(settings.periodMs, 1),
    timeoutSeconds: seconds(settings.timeoutMs, 1),
    // Kubernetes requires 1 for a liveness probe.
    successThreshold: liveness ? 1 : Math.max(1, settings.successThreshold),
    failureThreshold: Math.max(1, settings.failureThreshold),
  };
}

/** `1.5` cores → `1500m`; bytes → a plain integer quantity. */
function cpuQuantity(cores: number): string {
  return `${Math.max(1, Math.round(cores * 1000))}m`;
}

function resources(spec: ResolvedDeployment): Record<string, unknown> {
  const amounts: Record<string, string | number> = {};
  if (spec.resources.cpu !== undefined) amounts.cpu = cpuQuantity(spec.resources.cpu);
  if (spec.resources.memoryBytes !== undefined) amounts.memory = String(spec.resources.memoryBytes);
  const limits: Record<string, string | number> = { ...amounts };
  if (spec.resources.gpu > 0) limits['nvidia.com/gpu'] = spec.resources.gpu;
  // Requests equal to limits: the scheduler reserves what the replica may use (Guaranteed QoS).
  return { requests: amounts, limits };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

export function deploymentManifests(input: ManifestInput): Manifests {
  const { spec, namespace } = input;
  const ref = { target: spec.target, endpoint: spec.endpointName, deployment: spec.deploymentName };
  const name = objectName(ref);
  const labels = ownedLabels(ref);
  const metadata = { name, namespace, labels };
  const warnings: string[] = [];
  const scale = scaleOf(spec);
  const environment = sortedRecord(spec.environmentVariables);

  const configMap: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata, data: environment };
  const secret: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata,
    type: 'Opaque',
    data: { [tokenKey]: Buffer.from(input.token).toString('base64') },
  };
  const podAnnotations = {
    // A change of the environment alone rolls the pods, as a change of the image does.
    [configHashAnnotation]: sha256(JSON.stringify(environment)),
    [modelAnnotation]: `${spec.model.name}:${spec.model.version}`,
  };
  const container = {
    name: 'scoring',
    image: input.image,
    ports: [{ name: 'http', containerPort, protocol: 'TCP' }],
    envFrom: [{ configMapRef: { name } }],
    env: [
      { name: REPLICA_TOKEN_ENV, valueFrom: { secretKeyRef: { name, key: tokenKey } } },
      { name: STOP_DELAY_ENV, value: String(podStopDelayMs) },
    ],
    resources: resources(spec),
    livenessProbe: probe('/v2/health/live', spec.livenessProbe, true),
    readinessProbe: probe('/v2/health/ready', spec.readinessProbe, false),
    // A container that ends leaves the tail of its log as its termination message: a scoring
    // script's init error reaches the deployment's reason (state.ts).
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      // With an autoscaler the replica count is its field: berth leaves it out, so a re-apply never resets it.
      ...(scale.type === 'default' ? { replicas: spec.instanceCount } : {}),
      selector: { matchLabels: labels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels, annotations: podAnnotations },
        spec: {
          containers: [container],
          terminationGracePeriodSeconds: Math.ceil((podStopDelayMs + replicaStopGraceMs(spec)) / 1000),
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: labels },
            },
          ],
          ...(input.imagePullSecret === undefined
            ? {}
            : { imagePullSecrets: [{ name: input.imagePullSecret }] }),
        },
      },
    },
  };
  const service: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata,
    spec: {
      type: 'ClusterIP',
      selector: labels,
      ports: [{ name: 'http', port: containerPort, targetPort: 'http', protocol: 'TCP' }],
    },
  };
  const objects = [
    configMap,
    secret,
    deployment,
    service,
    pdbManifest(input.apis.pdb, name, namespace, labels),
  ];
  if (scale.type === 'target_utilization') {
    objects.push(
      hpaManifest(
        {
          version: input.apis.hpa,
          name,
          namespace,
          labels,
          scale,
          requestsCpu: spec.resources.cpu !== undefined,
        },
        warnings,
      ),
    );
  }
  return { name, labels, objects, warnings };
}
