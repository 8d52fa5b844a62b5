/**
 * The endpoints' in-cluster gateways (`gateway: in-cluster`): for each endpoint with a deployment
 * on this target, its gateway objects (gateway-manifests.ts) validated by a server-side dry run and
 * then applied with server-side apply, like a deployment's; the first apply (or a new image) waits
 * for the gateway's rollout. A later change of traffic, mirror or keys rewrites the Secret and the
 * ConfigMap only, which the running pods follow. When the endpoint's last deployment here is gone
 * (or the endpoint is), every gateway object is deleted and the wait lasts until its pods are gone.
 */
import { BerthError } from '../../core/errors.js';
import type { EndpointRouting, Progress } from '../target.js';
import type { Cluster } from './client.js';
import type { ResolvedKubernetesTargetConfig } from './config.js';
import { ensureGatewayImage } from './gateway-image.js';
import { gatewayKinds, gatewayLabels, gatewayManifests, type GatewayManifests } from './gateway-manifests.js';
import { selectorOf } from './names.js';
import { describeObject, type KubeObject } from './objects.js';
import { waitForRollout } from './rollout.js';

export interface GatewayApplied {
  manifests: GatewayManifests;
  /** `ConfigMap ml/berth-gateway-shop configured`, … */
  actions: string[];
}

export class InClusterGateways {
  constructor(
    private readonly config: ResolvedKubernetesTargetConfig,
    private readonly cluster: () => Cluster,
  ) {}

  /** The gateway objects of `endpoint`, with the gateway image's name (built and pushed when berth builds images). */
  async manifests(endpoint: string, routing: EndpointRouting, progress: Progress): Promise<GatewayManifests> {
    const cluster = this.cluster();
    const image = await ensureGatewayImage(this.config, progress);
    return gatewayManifests(
      {
        target: this.config.name,
        namespace: cluster.namespace,
        image,
        replicas: this.config.gatewayReplicas,
        imagePullSecret: this.config.imagePullSecret,
      },
      endpoint,
      routing,
    );
  }

  /**
   * Dry run of every object, then apply, in the order the pods need them (keys before the config
   * naming them). The RoleBinding alone is validated once its Role is applied: the server checks a
   * binding made by an account without the `bind` right against the Role it names, which must exist.
   */
  async apply(endpoint: string, routing: EndpointRouting, progress: Progress): Promise<GatewayApplied> {
    const cluster = this.cluster();
    const manifests = await this.manifests(endpoint, routing, progress);
    const binding = (object: KubeObject) => object.kind === 'RoleBinding';
    for (const object of manifests.objects) if (!binding(object)) await cluster.apply(object, true);
    const actions: string[] = [];
    let rollout = false;
    for (const object of manifests.objects) {
      if (binding(object)) await cluster.apply(object, true);
      const applied = await cluster.apply(object);
      actions.push(`${describeObject(object)} ${applied.action}`);
      if (applied.action !== 'unchanged') progress(`${describeObject(object)} ${applied.action}`);
      if (object.kind === 'Deployment' && applied.action !== 'unchanged') rollout = true;
    }
    if (rollout) {
      await waitForRollout(cluster, {
        name: manifests.name,
        selector: selectorOf(manifests.labels),
        timeoutMs: this.config.rolloutTimeoutMs,
        graceMs: this.config.reasonGraceMs,
        progress: (message) => progress(`gateway ${manifests.name}: ${message}`),
      });
    }
    return { manifests, actions };
  }

  /** Everything of the endpoint's gateway still in the cluster (its objects, ReplicaSets and Pods). */
  async leftovers(endpoint: string): Promise<KubeObject[]> {
    const cluster = this.cluster();
    const selector = selectorOf(gatewayLabels(this.config.name, endpoint));
    const kinds: [string, string][] = [...gatewayKinds, ['apps/v1', 'ReplicaSet'], ['v1', 'Pod']];
    const found = await Promise.all(
      kinds.map(([apiVersion, kind]) => cluster.list(apiVersion, kind, selector)),
    );
    return found.flat();
  }

  /** Deletes the endpoint's gateway objects and waits (up to 2 minutes) until none is left. */
  async remove(endpoint: string, progress: Progress): Promise<void> {
    const cluster = this.cluster();
    const selector = selectorOf(gatewayLabels(this.config.name, endpoint));
    let deleted = 0;
    for (const [apiVersion, kind] of gatewayKinds) {
      for (const object of await cluster.list(apiVersion, kind, selector)) {
        await cluster.delete(object);
        deleted += 1;
      }
    }
    if (deleted === 0) return;
    progress(`gateway of ${endpoint}: ${deleted} object(s) deleted`);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const left = await this.leftovers(endpoint);
      if (left.length === 0) return;
      if (Date.now() > deadline) {
        throw new BerthError(
          'RUN_FAILED',
          `removing the gateway of ${endpoint}: still in the cluster after 2 minutes: ${left.map(describeObject).join(', ')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /**
   * What routeEndpoint() does: apply while a deployment of the endpoint is deployed here, else
   * remove. A deployment being created counts once it is deployed: a gateway that fails then
   * leaves the deployment recorded as what it is, and the error names the gateway.
   */
  async route(endpoint: string, routing: EndpointRouting | undefined, progress: Progress): Promise<void> {
    const here =
      routing?.deployments.some(
        (deployment) => deployment.target === this.config.name && deployment.deployed,
      ) ?? false;
    if (routing === undefined || !here) await this.remove(endpoint, progress);
    else await this.apply(endpoint, routing, progress);
  }
}
