/**
 * The in-cluster gateway, as a gateway pod runs it: berth server's own endpoint gateway
 * (src/endpoints: keys, traffic split, mirror, admission, least-outstanding balancing) in front of
 * the endpoint's pods, which it finds as berth server does (replicas.ts: a watch on each
 * deployment's pods, its replica token from the deployment's Secret), through the API server as
 * the pod's service account. Its routing is the endpoint's ConfigMap, followed through a watch:
 * each change (traffic, mirror, keys, deployments) is set on the running gateway, with no restart
 * and no request dropped. A ConfigMap that does not parse is reported and the last good one kept.
 *
 * Health, on its own port: `/ready` answers 200 with the sha256 of the config it routes by (503
 * before the first one), `/live` 200 while the process runs, `/statistics` each deployment's
 * counters (requests, in flight, refused, mirrored) as the gateway keeps them. SIGTERM: not ready,
 * then the gateway drains its requests in flight and the process ends.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BerthError, toBerthError } from '../core/errors.js';
import { startGateway, type Gateway } from './gateway.js';
import type { GatewayDeployment } from './types.js';
import { Cluster } from '../targets/kubernetes/client.js';
import {
  gatewayConfigKey,
  gatewayConfigSha256,
  keysSha256,
  parseGatewayConfig,
  primaryKeyField,
  secondaryKeyField,
  type GatewayConfig,
} from '../targets/kubernetes/gateway-config.js';
import {
  gatewayConfigEnv,
  gatewayHealthPort,
  gatewayNamespaceEnv,
  gatewayPort,
} from '../targets/kubernetes/gateway-manifests.js';
import { PodWatch } from '../targets/kubernetes/replicas.js';
import { follow } from '../targets/kubernetes/rollout.js';

export interface GatewayRunnerOptions {
  cluster: Cluster;
  /** The ConfigMap (and keys Secret) name. */
  name: string;
  port: number;
  healthPort: number;
  host: string;
  log: (message: string) => void;
}

interface ConfigMapView {
  metadata?: { name?: string; resourceVersion?: string };
  data?: Record<string, string>;
}

export class GatewayRunner {
  private readonly watches = new Map<string, PodWatch>();
  private routed: string | undefined;
  private keys: { sha: string; primary: string; secondary: string | undefined } | undefined;
  private stopConfigWatch: (() => void) | undefined;
  private queue: Promise<void> = Promise.resolve();
  private stopping = false;
  private leaving = false;
  private retry: NodeJS.Timeout | undefined;

  private constructor(
    private readonly options: GatewayRunnerOptions,
    readonly gateway: Gateway,
    private readonly health: Server,
  ) {}

  static async start(options: GatewayRunnerOptions): Promise<GatewayRunner> {
    const gateway = await startGateway({ host: options.host, port: options.port, drainTimeoutMs: 30_000 });
    const health = createServer();
    const runner = new GatewayRunner(options, gateway, health);
    health.on('request', (req, res) => {
      if (req.url === '/live') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"live":true}\n');
      } else if (req.url === '/ready') {
        const ready = runner.routed !== undefined && !runner.stopping && !runner.leaving;
        res
          .writeHead(ready ? 200 : 503, { 'content-type': 'application/json' })
          .end(`${JSON.stringify({ ready, config: runner.routed ?? null })}\n`);
      } else if (req.url === '/statistics') {
        const statistics = Object.fromEntries(
          gateway.endpointNames().map((endpoint) => [endpoint, gateway.statistics(endpoint)]),
        );
        res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(statistics)}\n`);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      health.once('error', reject);
      health.listen(options.healthPort, options.host, () => resolve());
    });
    runner.watchConfig();
    return runner;
  }

  /** The health server's port (`healthPort` 0 picks a free one). */
  get healthPort(): number {
    return (this.health.address() as AddressInfo).port;
  }

  /** The sha256 of the config the gateway routes by, undefined before the first. */
  get config(): string | undefined {
    return this.routed;
  }

  private watchConfig(): void {
    const { cluster, name } = this.options;
    void follow(
      cluster,
      `/api/v1/namespaces/${cluster.namespace}/configmaps`,
      { fieldSelector: `metadata.name=${name}` },
      (type, object) => {
        if (type !== 'ADDED' && type !== 'MODIFIED') return;
        const text = (object as ConfigMapView).data?.[gatewayConfigKey];
        if (text === undefined) return this.options.log(`ConfigMap ${name} has no ${gatewayConfigKey}`);
        // One change at a time, in the order the watch gave them.
        this.queue = this.queue.then(() => this.apply(text)).catch((error: unknown) => this.report(error));
      },
      () => this.stopping,
      (error) => {
        this.report(error);
        this.stopConfigWatch?.();
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.watchConfig(), 1000);
      },
    ).then((stop) => {
      this.stopConfigWatch = stop;
      if (this.stopping) stop();
    });
  }

  private report(error: unknown): void {
    this.options.log(`gateway: ${toBerthError(error).message}`);
  }

  private async readKeys(config: GatewayConfig): Promise<{ primary: string; secondary: string | undefined }> {
    if (this.keys?.sha === config.keysSha256) return this.keys;
    const secret = await this.options.cluster.read({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: this.options.name },
    });
    const data = (secret?.data ?? {}) as Record<string, string>;
    const decode = (value: string | undefined) =>
      value === undefined ? undefined : Buffer.from(value, 'base64').toString();
    const primary = decode(data[primaryKeyField]) ?? '';
    const keys = { primary, secondary: decode(data[secondaryKeyField]) };
    const sha = keysSha256(keys);
    // The Secret is applied before the ConfigMap: a mismatch is a Secret changed since, read again next time.
    if (sha !== config.keysSha256)
      throw new BerthError(
        'NOT_READY',
        `Secret ${this.options.name} does not hold the keys the config names`,
      );
    this.keys = { sha, ...keys };
    return keys;
  }

  private podWatch(object: string, selector: string): PodWatch {
    let watch = this.watches.get(object);
    if (watch === undefined) {
      watch = new PodWatch(this.options.cluster, object, selector);
      this.watches.set(object, watch);
    }
    return watch;
  }

  private async apply(text: string): Promise<void> {
    const sha = gatewayConfigSha256(text);
    if (sha === this.routed) return;
    const config = parseGatewayConfig(text);
    const keys = config.authMode === 'key' ? await this.readKeys(config) : undefined;
    const used = new Set<string>();
    const started: PodWatch[] = [];
    const deployments: GatewayDeployment[] = config.deployments.map((deployment) => {
      const watch =
        deployment.object === null || deployment.selector === null
          ? undefined
          : this.podWatch(deployment.object, deployment.selector);
      if (deployment.object !== null) used.add(deployment.object);
      if (watch !== undefined) started.push(watch);
      return {
        name: deployment.name,
        requestSettings: {
          requestTimeoutMs: deployment.requestTimeoutMs,
          maxConcurrentRequestsPerInstance: deployment.maxConcurrentRequestsPerInstance,
        },
        instanceCount: deployment.instanceCount,
        replicas: () => watch?.replicas() ?? [],
      };
    });
    // A new deployment's pods are listed before the config that names it routes.
    await Promise.all(started.map((watch) => watch.ready));
    this.gateway.setEndpoint({
      name: config.endpoint,
      authMode: config.authMode,
      keys,
      traffic: config.traffic,
      mirror: config.mirror,
      deployments,
    });
    for (const [object, watch] of this.watches) {
      if (used.has(object)) continue;
      watch.close();
      this.watches.delete(object);
    }
    this.routed = sha;
    this.options.log(
      `gateway: routing ${config.endpoint} by config ${sha.slice(0, 12)}: traffic ${JSON.stringify(config.traffic)}, mirror ${JSON.stringify(config.mirror)}`,
    );
  }

  /** Readiness answers 503 from now on while the gateway still routes (a delayed stop). */
  unready(): void {
    this.leaving = true;
  }

  /** Not ready at once; then the requests in flight finish (up to 30 s) and everything closes. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retry);
    this.stopConfigWatch?.();
    await this.gateway.close();
    for (const watch of this.watches.values()) watch.close();
    this.watches.clear();
    await new Promise<void>((resolve) => this.health.close(() => resolve()));
  }
}

/** What a gateway pod runs (in-cluster-main.ts): the settings from the environment the manifests give it. */
export async function runGatewayPod(env: NodeJS.ProcessEnv = process.env): Promise<GatewayRunner> {
  const name = env[gatewayConfigEnv];
  if (name === undefined || name === '')
    throw new BerthError('INVALID_SPEC', `${gatewayConfigEnv} is not set: the gateway's ConfigMap`);
  const runner = await GatewayRunner.start({
    cluster: Cluster.inCluster(env[gatewayNamespaceEnv]),
    name,
    host: '0.0.0.0',
    port: gatewayPort,
    healthPort: gatewayHealthPort,
    log: (message) => console.log(message),
  });
  console.log(
    `gateway: listening on :${gatewayPort}, health on :${gatewayHealthPort}, config ConfigMap ${name}`,
  );
  return runner;
}
