/**
 * The Kubernetes target's configuration: validated once with zod (`kubernetesTargetConfigSchema`,
 * one member of the target-config union keyed by `kind`) and resolved into
 * `ResolvedKubernetesTargetConfig` with every default filled in.
 */
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { nameSchema } from '../../core/names.js';
import { defaultBaseImage } from '../container/config.js';
import { validateTargetConfig } from '../shared/config.js';
import {
  kubernetesBatchSettingsShape,
  resolveKubernetesBatchSettings,
  type KubernetesBatchSettings,
} from './batch-settings.js';

const ms = z.number().int().positive();
/** A DNS-1123 label: what Kubernetes accepts as a namespace or a Secret name. */
const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected a DNS-1123 label (a-z, 0-9, -; at most 63)');

export const kubernetesTargetConfigSchema = z.strictObject({
  kind: z.literal('kubernetes'),
  /** The target's name in handles and labels. Default 'kubernetes'. */
  name: nameSchema.default('kubernetes'),
  /** The kubeconfig file. Default: $KUBECONFIG (its first file), else ~/.kube/config. */
  kubeconfig: z.string().min(1).optional(),
  /** The kubeconfig context. Default: the file's current-context. */
  context: z.string().min(1).optional(),
  /** The namespace everything of this target goes to. Default: the context's namespace, else `default`. */
  namespace: dnsLabel.optional(),
  /**
   * The registry the images are pushed to and pulled from, e.g. `registry.example.com/ml`. Default
   * none: images are named `berth/app:<key>` and must already be where the cluster's nodes find them.
   */
  registry: z.string().min(1).optional(),
  /** A Secret (type kubernetes.io/dockerconfigjson) in the namespace the pods pull images with. */
  imagePullSecret: dnsLabel.optional(),
  /**
   * Build the image on the Docker Engine and push it to `registry` before applying. Default true;
   * false: the image is expected in the registry already (`berth package` + `docker push`).
   */
  buildImage: z.boolean().default(true),
  /** The image the scoring server runs on (as the container target's baseImage). Default node:20-bookworm-slim. */
  baseImage: z.string().min(1).default(defaultBaseImage),
  /** Where the bundled scoring server is kept between deploys. Default `<tmp>/berth-kubernetes`. */
  cacheDir: z.string().min(1).optional(),
  /**
   * How long deploy() and update() wait for the rollout to be available before they fail with the
   * cluster's last reason. Default 600000 ms. A reason the cluster gives sooner ends the wait.
   */
  rolloutTimeoutMs: ms.default(600_000),
  /**
   * How long a reason that can clear on its own (Unschedulable: a cluster autoscaler may add a
   * node) may stand before deploy() fails with it. Default 30000 ms.
   */
  reasonGraceMs: z.number().int().nonnegative().default(30_000),
  /** Batch jobs on this target (batch-settings.ts): the Redis the workers share, their image, the data volume. */
  ...kubernetesBatchSettingsShape,
  /** Real-time deployments become a KServe InferenceService (kserve.ts) instead of a Deployment and Service. Default false. */
  kserve: z.boolean().default(false),
  /**
   * Where each endpoint's traffic split and mirror run (gateway.ts). `server` (default): in berth
   * server's gateway, which sends to pod IPs and so must run where they are routed. `in-cluster`:
   * also in a gateway Deployment of the endpoint's own in the namespace, reached through its Service.
   */
  gateway: z.enum(['server', 'in-cluster']).default('server'),
  /** Gateway pods per endpoint with `gateway: in-cluster`. Default 2 (one may restart while the other serves). */
  gatewayReplicas: z.number().int().positive().default(2),
  /** The gateway pods' image. Default: built by berth (`buildImage`) as `<registry>/berth-gateway:<key>`. */
  gatewayImage: z.string().min(1).optional(),
});

export type KubernetesTargetConfig = z.input<typeof kubernetesTargetConfigSchema>;

export interface ResolvedKubernetesTargetConfig {
  kind: 'kubernetes';
  name: string;
  kubeconfig: string;
  context: string | undefined;
  namespace: string | undefined;
  registry: string | undefined;
  imagePullSecret: string | undefined;
  buildImage: boolean;
  baseImage: string;
  cacheDir: string;
  rolloutTimeoutMs: number;
  reasonGraceMs: number;
  /** Undefined when the target has no `batchRedis`: it then refuses batch jobs, saying so. */
  batch: KubernetesBatchSettings | undefined;
  kserve: boolean;
  gateway: 'server' | 'in-cluster';
  gatewayReplicas: number;
  gatewayImage: string | undefined;
}

/** $KUBECONFIG may list several files; berth reads the first, as most tools that take one file do. */
export function defaultKubeconfig(env: NodeJS.ProcessEnv = process.env): string {
  const first = env.KUBECONFIG?.split(':').find((path) => path !== '');
  return first ?? join(homedir(), '.kube', 'config');
}

export function resolveKubernetesTargetConfig(input: unknown): ResolvedKubernetesTargetConfig {
  const config = validateTargetConfig(kubernetesTargetConfigSchema, input, 'kubernetes target config');
  return {
    kind: 'kubernetes',
    name: config.name,
    kubeconfig: resolve(config.kubeconfig ?? defaultKubeconfig()),
    context: config.context,
    namespace: config.namespace,
    registry: config.registry?.replace(/\/+$/, ''),
    imagePullSecret: config.imagePullSecret,
    buildImage: config.buildImage,
    baseImage: config.baseImage,
    cacheDir: resolve(config.cacheDir ?? join(tmpdir(), 'berth-kubernetes')),
    rolloutTimeoutMs: config.rolloutTimeoutMs,
    reasonGraceMs: config.reasonGraceMs,
    batch: resolveKubernetesBatchSettings(config),
    kserve: config.kserve,
    gateway: config.gateway,
    gatewayReplicas: config.gatewayReplicas,
    gatewayImage: config.gatewayImage,
  };
}
