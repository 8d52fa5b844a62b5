/**
 * The Kubernetes target: a deployment becomes a Deployment, Service, Secret, ConfigMap,
 * PodDisruptionBudget and (with scale_settings) a HorizontalPodAutoscaler in the cluster the
 * kubeconfig reaches, applied with server-side apply after a server-side dry run has validated
 * every object; the cluster schedules, scales and heals. State comes from the cluster (watches
 * while deploy waits, one read for status), with the cluster's own reasons. Removal deletes what
 * carries the deployment's labels and waits until its pods are gone. See README.md.
 */
import { randomBytes } from 'node:crypto';
import { BerthError } from '../../core/errors.js';
import { targetCapabilities } from '../capabilities.js';
import type {
  ComputeTarget,
  DeploymentHandle,
  DeploymentDetails,
  DeploymentStatus,
  EndpointRouting,
  LogLine,
  LogOptions,
  Progress,
  ReplicaStatus,
  ResolvedDeployment,
  TargetCapabilities,
} from '../target.js';
import { replicaStopGraceMs } from '../shared/scoring-options.js';
import { validateForTarget } from '../validate.js';
import { Cluster } from './client.js';
import type { ResolvedKubernetesTargetConfig } from './config.js';
import { currentApis } from './discovery.js';
import { InClusterGateways } from './gateway.js';
import { gatewayName, gatewayServicePort } from './gateway-manifests.js';
import { buildAndPush, imageFor } from './image.js';
import { deploymentManifests, tokenKey, type Manifests } from './manifests.js';
import { objectName, ownedLabels, selectorOf } from './names.js';
import { describeObject, type KubeObject } from './objects.js';
import { inspectDeployment } from './inspect.js';
import { kserveManifests, requireKserve } from './kserve.js';
import { podLogs } from './logs.js';
import { PodWatch } from './replicas.js';
import { waitForRollout } from './rollout.js';
import { deploymentStatus, type DeploymentView } from './state.js';

/** What berth creates for a deployment (the HPA and PDB in the versions discovery chose). */
function ownedKinds(apis = currentApis): [string, string][] {
  return [
    ['v1', 'ConfigMap'],
    ['v1', 'Secret'],
    ['apps/v1', 'Deployment'],
    ['v1', 'Service'],
    [apis.pdb, 'PodDisruptionBudget'],
    [apis.hpa, 'HorizontalPodAutoscaler'],
  ];
}

/** What is left of a deployment in the cluster: its own objects, and the ReplicaSets and Pods made from them. */
export const leftoverKinds = (apis = currentApis): [string, string][] => [
  ...ownedKinds(apis),
  ['apps/v1', 'ReplicaSet'],
  ['v1', 'Pod'],
];

export interface KubernetesHandleData extends Record<string, unknown> {
  namespace: string;
  name: string;
  selector: string;
  image: string;
}

export class KubernetesTarget implements ComputeTarget {
  readonly kind = 'kubernetes';
  readonly capabilities: TargetCapabilities = targetCapabilities.kubernetes;
  private cluster: Cluster | undefined;
  /** Per deployment (handle id), its pods as the gateway sees them. */
  private readonly watches = new Map<string, PodWatch>();
  private gateways: InClusterGateways | undefined;

  constructor(readonly config: ResolvedKubernetesTargetConfig) {}

  /** The cluster, opened on first use (reading the kubeconfig). */
  connect(): Cluster {
    this.cluster ??= Cluster.open(this.config);
    return this.cluster;
  }

  async validate(spec: ResolvedDeployment): Promise<string[]> {
    return validateForTarget(spec, this.capabilities, 'kubernetes');
  }

  /**
   * The objects of `spec`, in the API versions the cluster serves; the replica token is the one
   * in the deployment's Secret when it exists (so a re-apply changes nothing), else a new one.
   */
  async manifests(spec: ResolvedDeployment): Promise<Manifests> {
    const cluster = this.connect();
    const apis = await cluster.servedApis();
    const image = await imageFor(spec, this.config);
    const name = objectName({ endpoint: spec.endpointName, deployment: spec.deploymentName });
    const secret = await cluster.read({ apiVersion: 'v1', kind: 'Secret', metadata: { name } });
    const stored = (secret?.data as Record<string, string> | undefined)?.[tokenKey];
    const token =
      stored === undefined ? randomBytes(24).toString('base64url') : Buffer.from(stored, 'base64').toString();
    const manifests = deploymentManifests({
      spec,
      namespace: cluster.namespace,
      image: image.name,
      imagePullSecret: this.config.imagePullSecret,
      token,
      apis,
    });
    if (!this.config.kserve) return manifests;
    await requireKserve(cluster);
    return kserveManifests(spec, manifests);
  }

  /**
   * Validates every object with a server-side dry run, then applies them; returns what each apply
   * did (`created`, `configured`, `unchanged`). Nothing is applied when one object is refused.
   */
  async apply(
    spec: ResolvedDeployment,
    progress: Progress,
  ): Promise<{ manifests: Manifests; actions: string[] }> {
    const cluster = this.connect();
    if (this.config.kserve) {
      throw new BerthError(
        'NOT_IMPLEMENTED',
        'applying a KServe InferenceService is not built: berth deployment create --dry-run --output DIR writes it',
      );
    }
    const manifests = await this.manifests(spec);
    for (const warning of manifests.warnings) progress(`warning: ${warning}`);
    for (const object of manifests.objects) await cluster.apply(object, true);
    const actions: string[] = [];
    for (const object of manifests.objects) {
      const applied = await cluster.apply(object);
      actions.push(`${describeObject(object)} ${applied.action}`);
      progress(`${describeObject(object)} ${applied.action}`);
    }
    return { manifests, actions };
  }

  private handleFor(spec: ResolvedDeployment, manifests: Manifests): DeploymentHandle {
    const deployment = manifests.objects.find((object) => object.kind === 'Deployment');
    const container = (deployment?.spec as { template: { spec: { containers: { image: string }[] } } })
      .template.spec.containers[0];
    const data: KubernetesHandleData = {
      namespace: this.connect().namespace,
      name: manifests.name,
      selector: selectorOf(manifests.labels),
      image: container?.image ?? '',
    };
    return {
      target: this.config.name,
      kind: 'kubernetes',
      id: `${spec.endpointName}/${spec.deploymentName}`,
      data,
    };
  }

  async deploy(
    spec: ResolvedDeployment,
    progress: Progress,
    signal?: AbortSignal,
  ): Promise<DeploymentHandle> {
    for (const warning of await this.validate(spec)) progress(`warning: ${warning}`);
    // The cluster answers (kubeconfig read, discovery served) before an image is built for it.
    await this.connect().servedApis();
    if (this.config.buildImage)
      await buildAndPush(spec, this.config, await imageFor(spec, this.config), progress);
    const { manifests } = await this.apply(spec, progress);
    const handle = this.handleFor(spec, manifests);
    await waitForRollout(this.connect(), {
      name: manifests.name,
      selector: selectorOf(manifests.labels),
      timeoutMs: this.config.rolloutTimeoutMs,
      graceMs: this.config.reasonGraceMs,
      progress,
      ...(signal === undefined ? {} : { signal }),
    });
    const watch = this.podWatch(handle);
    await watch.ready;
    const unreachable = await watch.unreachable();
    if (this.config.gateway === 'in-cluster') {
      const service = gatewayName(spec.endpointName);
      const namespace = this.connect().namespace;
      progress(
        `endpoint ${spec.endpointName} in the cluster: Service ${namespace}/${service} port ${gatewayServicePort} (http://${service}.${namespace}.svc/endpoints/${spec.endpointName}/score)`,
      );
      if (unreachable !== undefined)
        progress(`berth server's own gateway does not reach the pods from here; the in-cluster gateway does`);
    } else if (unreachable !== undefined) progress(`warning: ${unreachable}`);
    return handle;
  }

  /** The Deployment's rolling update replaces the pods (maxUnavailable 0: none goes before its successor is ready). */
  async update(
    handle: DeploymentHandle,
    spec: ResolvedDeployment,
    progress: Progress,
  ): Promise<DeploymentHandle> {
    const expected = `${spec.endpointName}/${spec.deploymentName}`;
    if (handle.id !== expected) {
      throw new BerthError('BAD_INPUT', `update of ${handle.id} with the spec of ${expected}`);
    }
    const updated = await this.deploy(spec, progress);
    await this.oldPodsGone(updated, replicaStopGraceMs(spec) + 30_000, progress);
    return updated;
  }

  /**
   * The old pods are gone (not only terminating) when update() returns, as old replicas are on
   * every target. Old means not of the newest ReplicaSet (pods are named after theirs); they are
   * followed on the pod watch the gateway uses, so a pod the watch has not yet seen deleted counts.
   */
  private async oldPodsGone(handle: DeploymentHandle, timeoutMs: number, progress: Progress): Promise<void> {
    const { selector } = this.ref(handle);
    const revision = (set: KubeObject) =>
      Number(set.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
    const sets = await this.connect().list('apps/v1', 'ReplicaSet', selector);
    const newest = sets.sort((a, b) => revision(b) - revision(a))[0];
    if (newest === undefined) return;
    const watch = this.podWatch(handle);
    await watch.ready;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const old = watch.replicas().filter((replica) => !replica.id.startsWith(`${newest.metadata.name}-`));
      if (old.length === 0) return;
      if (Date.now() > deadline) {
        progress(
          `warning: ${old.map((replica) => replica.id).join(', ')} still there after ${Math.round(timeoutMs / 1000)} s`,
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  private ref(handle: DeploymentHandle): { name: string; selector: string } {
    const [endpoint = '', deployment = ''] = handle.id.split('/');
    const labels = ownedLabels({ target: handle.target, endpoint, deployment });
    return { name: objectName({ endpoint, deployment }), selector: selectorOf(labels) };
  }

  async status(handle: DeploymentHandle): Promise<DeploymentStatus> {
    const cluster = this.connect();
    const { name, selector } = this.ref(handle);
    const deployment = await cluster.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name } });
    const pods = await cluster.list('v1', 'Pod', selector);
    // As the contract has it: a deployment the cluster holds nothing of (removed) is not found.
    if (deployment === undefined && pods.length === 0) {
      throw new BerthError('NOT_FOUND', `deployment ${handle.id}: no Deployment ${name} in the cluster`);
    }
    const secret = await cluster.read({ apiVersion: 'v1', kind: 'Secret', metadata: { name } });
    const stored = (secret?.data as Record<string, string> | undefined)?.[tokenKey];
    const token = stored === undefined ? undefined : Buffer.from(stored, 'base64').toString();
    return deploymentStatus(deployment as DeploymentView | undefined, pods, token);
  }

  /** Replicas, autoscaler, pods with their restarts, and the recent events, for `endpoint show` (inspect.ts). */
  async details(handle: DeploymentHandle): Promise<DeploymentDetails> {
    return { kubernetes: await inspectDeployment(this.connect(), this.ref(handle)) };
  }

  private podWatch(handle: DeploymentHandle): PodWatch {
    let watch = this.watches.get(handle.id);
    if (watch === undefined) {
      const { name, selector } = this.ref(handle);
      watch = new PodWatch(this.connect(), name, selector);
      this.watches.set(handle.id, watch);
    }
    return watch;
  }

  /**
   * The deployment's pods as last seen by a watch (started on first call, e.g. after a restart of
   * the control plane): what the endpoint gateway sends requests to, at each pod's IP.
   */
  currentReplicas(handle: DeploymentHandle): ReplicaStatus[] {
    return this.podWatch(handle).replicas();
  }

  logs(handle: DeploymentHandle, options: LogOptions): AsyncIterable<LogLine> {
    return podLogs(this.connect(), this.ref(handle).selector, options);
  }

  /** Everything of the deployment still in the cluster (its objects, ReplicaSets and Pods). */
  async leftovers(handle: DeploymentHandle): Promise<KubeObject[]> {
    const cluster = this.connect();
    const { selector } = this.ref(handle);
    const apis = await cluster.servedApis();
    const found = await Promise.all(
      leftoverKinds(apis).map(([apiVersion, kind]) => cluster.list(apiVersion, kind, selector)),
    );
    return found.flat();
  }

  /** Deletes every object carrying the deployment's labels and waits (up to 2 minutes) until none is left. */
  async remove(handle: DeploymentHandle): Promise<void> {
    this.watches.get(handle.id)?.close();
    this.watches.delete(handle.id);
    const cluster = this.connect();
    const { selector } = this.ref(handle);
    const apis = await cluster.servedApis();
    for (const [apiVersion, kind] of ownedKinds(apis)) {
      for (const object of await cluster.list(apiVersion, kind, selector)) await cluster.delete(object);
    }
    const deadline = Date.now() + 120_000;
    for (;;) {
      const left = await this.leftovers(handle);
      if (left.length === 0) return;
      if (Date.now() > deadline) {
        throw new BerthError(
          'RUN_FAILED',
          `removing ${handle.id}: still in the cluster after 2 minutes: ${left.map(describeObject).join(', ')}`,
        );
      }
      // ReplicaSets and Pods go with the garbage collector, after their owner.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /**
   * With `gateway: in-cluster`, applies the endpoint's gateway in the cluster while it has a
   * deployment here, and removes it after (gateway.ts); with `server`, nothing: berth server's
   * gateway routes.
   */
  async routeEndpoint(endpoint: string, routing: EndpointRouting | undefined): Promise<void> {
    if (this.config.gateway !== 'in-cluster') return;
    await this.gatewaysInCluster().route(endpoint, routing, () => undefined);
  }

  /** The endpoints' in-cluster gateways (`gateway: in-cluster`), opened on first use. */
  gatewaysInCluster(): InClusterGateways {
    this.gateways ??= new InClusterGateways(this.config, () => this.connect());
    return this.gateways;
  }

  async close(): Promise<void> {
    for (const watch of this.watches.values()) watch.close();
    this.watches.clear();
    this.cluster = undefined;
  }
}
