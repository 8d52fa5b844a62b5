/**
 * The objects of one endpoint's in-cluster gateway, pure: a Deployment of gateway pods (the
 * gateway image, gateway-image.ts) and its Service, a ServiceAccount with a Role that reads exactly
 * what the pods need (pods; this ConfigMap and these Secrets by name), its RoleBinding, the
 * ConfigMap the pods route by (gateway-config.ts) and the Secret with the endpoint's keys. Every
 * object carries berth's labels with `berth.dev/component=gateway` and no deployment label, so a
 * deployment's removal never touches them and the endpoint's removal finds them all.
 *
 * The pod template holds nothing of the routing: a traffic, mirror or key change rewrites the
 * ConfigMap (and maybe the Secret and Role), never the pods, which follow the ConfigMap by a watch.
 */
import { createHash } from 'node:crypto';
import { STOP_DELAY_ENV } from '../../core/stop-delay.js';
import type { EndpointRouting } from '../target.js';
import {
  gatewayConfig,
  gatewayConfigKey,
  gatewayConfigSha256,
  gatewayConfigText,
  primaryKeyField,
  secondaryKeyField,
} from './gateway-config.js';
import { podStopDelayMs } from './manifests.js';
import { labelValue, managedByLabel, endpointLabel, targetLabel } from './names.js';
import type { KubeObject } from './objects.js';

export const componentLabel = 'berth.dev/component';
export const configShaAnnotation = 'berth.dev/gateway-config-sha256';
/** The port requests come to, on the pods and on the Service. */
export const gatewayPort = 8080;
export const gatewayServicePort = 80;
/** The pods' health port: `/ready` (200 once a config is routed, with its sha256) and `/live`. */
export const gatewayHealthPort = 8081;
export const gatewayConfigEnv = 'BERTH_GATEWAY_CONFIG';
export const gatewayNamespaceEnv = 'BERTH_NAMESPACE';

export interface GatewaySettings {
  /** The target's name (labels, and which deployments are in this cluster). */
  target: string;
  namespace: string;
  image: string;
  replicas: number;
  imagePullSecret: string | undefined;
}

export interface GatewayManifests {
  name: string;
  labels: Record<string, string>;
  /** sha256 of the ConfigMap's config: what the pods report on /ready once they route by it. */
  configSha256: string;
  objects: KubeObject[];
}

/** `berth-gateway-<endpoint>` as a DNS-1123 label (a hash suffix where the name had to change). */
export function gatewayName(endpoint: string): string {
  const wanted = `berth-gateway-${endpoint}`;
  const cleaned = wanted.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (cleaned === wanted && cleaned.length <= 63 && /[a-z0-9]$/.test(cleaned)) return cleaned;
  const hash = createHash('sha256').update(endpoint).digest('hex').slice(0, 8);
  return `${cleaned.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

export function gatewayLabels(target: string, endpoint: string): Record<string, string> {
  return {
    [managedByLabel]: 'berth',
    [targetLabel]: labelValue(target),
    [endpointLabel]: labelValue(endpoint),
    [componentLabel]: 'gateway',
  };
}

/** What the gateway pods may do: read pods, and read this gateway's ConfigMap and the named Secrets. */
export function gatewayRoleRules(name: string, secrets: readonly string[]): Record<string, unknown>[] {
  return [
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['configmaps'], resourceNames: [name], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['secrets'], resourceNames: [name, ...secrets], verbs: ['get'] },
  ];
}

const encode = (text: string) => Buffer.from(text).toString('base64');

export function gatewayManifests(
  settings: GatewaySettings,
  endpoint: string,
  routing: EndpointRouting,
): GatewayManifests {
  const name = gatewayName(endpoint);
  const labels = gatewayLabels(settings.target, endpoint);
  const metadata = { name, namespace: settings.namespace, labels };
  const config = gatewayConfig(settings.target, endpoint, routing);
  const text = gatewayConfigText(config);
  const configSha256 = gatewayConfigSha256(text);
  const tokenSecrets = config.deployments.flatMap((deployment) =>
    deployment.object === null ? [] : [deployment.object],
  );
  const keys = routing.authMode === 'key' ? routing.keys : undefined;

  const serviceAccount: KubeObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata };
  const role: KubeObject = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata,
    rules: gatewayRoleRules(name, [...new Set(tokenSecrets)].sort()),
  };
  const binding: KubeObject = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata,
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name, namespace: settings.namespace }],
  };
  const configMap: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { ...metadata, annotations: { [configShaAnnotation]: configSha256 } },
    data: { [gatewayConfigKey]: text },
  };
  const secret: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata,
    type: 'Opaque',
    data:
      keys === undefined
        ? {}
        : {
            [primaryKeyField]: encode(keys.primary),
            ...(keys.secondary === undefined ? {} : { [secondaryKeyField]: encode(keys.secondary) }),
          },
  };
  const health = (path: string) => ({
    httpGet: { path, port: 'health' },
    periodSeconds: 2,
    timeoutSeconds: 2,
    failureThreshold: 3,
  });
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      replicas: settings.replicas,
      selector: { matchLabels: labels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: name,
          containers: [
            {
              name: 'gateway',
              image: settings.image,
              ports: [
                { name: 'http', containerPort: gatewayPort, protocol: 'TCP' },
                { name: 'health', containerPort: gatewayHealthPort, protocol: 'TCP' },
              ],
              env: [
                { name: gatewayConfigEnv, value: name },
                { name: gatewayNamespaceEnv, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: STOP_DELAY_ENV, value: String(podStopDelayMs) },
              ],
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
              readinessProbe: health('/ready'),
              livenessProbe: { ...health('/live'), initialDelaySeconds: 5, failureThreshold: 5 },
            },
          ],
          // On SIGTERM the gateway serves on for the stop delay (not ready), then drains its
          // requests in flight for up to 30 s.
          terminationGracePeriodSeconds: 40 + Math.ceil(podStopDelayMs / 1000),
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: labels },
            },
          ],
          ...(settings.imagePullSecret === undefined
            ? {}
            : { imagePullSecrets: [{ name: settings.imagePullSecret }] }),
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
      ports: [{ name: 'http', port: gatewayServicePort, targetPort: 'http', protocol: 'TCP' }],
    },
  };
  return {
    name,
    labels,
    configSha256,
    // The keys before the config that names them: the pods read the Secret when the ConfigMap changes.
    objects: [serviceAccount, role, binding, secret, configMap, deployment, service],
  };
}

/** The kinds a gateway is made of, for removal and the check that nothing is left. */
export const gatewayKinds: [string, string][] = [
  ['apps/v1', 'Deployment'],
  ['v1', 'Service'],
  ['v1', 'ConfigMap'],
  ['v1', 'Secret'],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
  ['rbac.authorization.k8s.io/v1', 'Role'],
  ['v1', 'ServiceAccount'],
];
