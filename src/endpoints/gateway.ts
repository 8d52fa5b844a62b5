/**
 * The endpoint gateway: one HTTP server per workspace in front of every endpoint's deployments.
 * A request to `/endpoints/{endpoint}/…` is authenticated with the endpoint's keys, sent to the
 * deployment its header names or else to one chosen by traffic weight, admitted against that
 * deployment's in-flight bound, balanced to its least busy ready replica, and maybe copied to the
 * mirror deployment. The control plane owns the state: setEndpoint() and removeEndpoint().
 *
 * ```ts
 * const gateway = await startGateway({ port: 8080 });
 * gateway.setEndpoint({ name: 'fraud', authMode: 'key', keys, traffic: { blue: 100 }, mirror: {},
 *   deployments: [{ name: 'blue', requestSettings, instanceCount: 2, replicas: () => target.currentReplicas!(handle) }] });
 * // POST http://127.0.0.1:8080/endpoints/fraud/score with Authorization: Bearer <key>
 * await gateway.close();
 * ```
 *
 * States: listening → closing → closed. close() stops accepting, lets the requests in flight
 * finish (up to drainTimeoutMs), drops mirror copies, and closes the connections to replicas.
 */
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BerthError, isErrorCode, toBerthError } from '../core/errors.js';
import { assertName } from '../core/names.js';
import { DeploymentAdmission } from './admission.js';
import { Balancer, noReplicaReason, type ReadyReplica } from './balancer.js';
import { checkDeclaredLength, watchBodySize } from './body-limit.js';
import { namedDeployment } from './headers.js';
import { bearerToken, keyMatches } from './keys.js';
import { Mirror } from './mirror.js';
import { resolveGatewayOptions, type GatewayOptions, type ResolvedGatewayOptions } from './options.js';
import { forward } from './proxy.js';
import { sendError } from './reply.js';
import { matchRoute, routeFamily, type GatewayRoute } from './router.js';
import { mirrorTarget, pickByWeight, validateTraffic } from './traffic.js';
import type { EndpointConfig, GatewayDeployment } from './types.js';

export interface DeploymentStatistics {
  /** Live requests sent to the deployment (traffic or header). */
  requests: number;
  inFlight: number;
  /** Refused with 429 at the admission bound. */
  rejected: number;
  mirrored: number;
  mirrorFailed: number;
  /** Copies not sent: the mirror bound, the body size or the mirror deployment's own bound. */
  mirrorDropped: number;
}

interface DeploymentEntry {
  config: GatewayDeployment;
  admission: DeploymentAdmission;
  stats: DeploymentStatistics;
}

interface EndpointEntry {
  config: EndpointConfig;
  deployments: Map<string, DeploymentEntry>;
}

export type GatewayState = 'listening' | 'closing' | 'closed';

export class Gateway {
  state: GatewayState = 'listening';
  private readonly endpoints = new Map<string, EndpointEntry>();
  private readonly balancer = new Balancer();
  private readonly agent: Agent;
  private readonly mirror: Mirror;
  private readonly active = new Set<Promise<void>>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    readonly options: ResolvedGatewayOptions,
  ) {
    // Idle sockets are dropped before the scoring server's 5 s keep-alive timeout drops them.
    this.agent = new Agent({ keepAlive: true, keepAliveMsecs: 1000, timeout: 4000 });
    this.mirror = new Mirror(this.agent, options.maxMirrorInFlight);
  }

  static async start(options: GatewayOptions = {}): Promise<Gateway> {
    const resolved = resolveGatewayOptions(options);
    const server = createServer();
    const gateway = new Gateway(server, resolved);
    server.on('request', (req: IncomingMessage, res: ServerResponse) =>
      gateway.track(gateway.handle(req, res)),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(resolved.port, resolved.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return gateway;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    const host = this.options.host === '0.0.0.0' ? '127.0.0.1' : this.options.host;
    return `http://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  /** Adds or replaces an endpoint; counters and in-flight counts of kept deployments carry over. */
  setEndpoint(config: EndpointConfig): void {
    assertName(config.name, 'endpoint name');
    const names = config.deployments.map((deployment) => deployment.name);
    const duplicate = names.find((name, index) => names.indexOf(name) !== index);
    if (duplicate !== undefined)
      throw new BerthError('INVALID_SPEC', `endpoint "${config.name}" lists deployment "${duplicate}" twice`);
    validateTraffic(
      { traffic: config.traffic, mirror: config.mirror, deployments: names },
      `endpoint "${config.name}"`,
    );
    if (config.authMode === 'key' && (config.keys === undefined || config.keys.primary === '')) {
      throw new BerthError(
        'INVALID_SPEC',
        `endpoint "${config.name}" has auth_mode key but no keys: give keys, or set auth_mode none explicitly`,
      );
    }
    for (const deployment of config.deployments) {
      const { maxConcurrentRequestsPerInstance, requestTimeoutMs } = deployment.requestSettings;
      if (
        !(maxConcurrentRequestsPerInstance >= 1) ||
        !(requestTimeoutMs >= 1) ||
        !(deployment.instanceCount >= 0)
      ) {
        throw new BerthError(
          'INVALID_SPEC',
          `deployment "${deployment.name}": max_concurrent_requests_per_instance and request_timeout_ms must be >= 1`,
        );
      }
    }
    const previous = this.endpoints.get(config.name);
    const deployments = new Map<string, DeploymentEntry>();
    for (const deployment of config.deployments) {
      const kept = previous?.deployments.get(deployment.name);
      if (kept !== undefined) {
        kept.config = deployment;
        kept.admission.configure(deployment);
        deployments.set(deployment.name, kept);
      } else {
        deployments.set(deployment.name, {
          config: deployment,
          admission: new DeploymentAdmission(deployment),
          stats: { requests: 0, inFlight: 0, rejected: 0, mirrored: 0, mirrorFailed: 0, mirrorDropped: 0 },
        });
      }
    }
    this.endpoints.set(config.name, { config, deployments });
  }

  removeEndpoint(name: string): boolean {
    return this.endpoints.delete(name);
  }

  endpointNames(): string[] {
    return [...this.endpoints.keys()];
  }

  statistics(endpoint: string): Record<string, DeploymentStatistics> {
    const entry = this.endpoints.get(endpoint);
    if (entry === undefined)
      throw new BerthError('NOT_FOUND', `endpoint "${endpoint}" is not on this gateway`);
    const out: Record<string, DeploymentStatistics> = {};
    for (const [name, deployment] of entry.deployments)
      out[name] = {
        ...deployment.stats,
        inFlight: deployment.admission.inFlight,
        rejected: deployment.admission.rejected,
      };
    return out;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'closing';
      const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      const drained = Promise.allSettled([...this.active]);
      const deadline = new Promise((resolve) => setTimeout(resolve, this.options.drainTimeoutMs).unref());
      await Promise.race([drained, deadline]);
      this.server.closeAllConnections();
      await stopped;
      this.mirror.abortAll();
      this.agent.destroy();
      this.state = 'closed';
    })();
    return this.closing;
  }

  private track(work: Promise<void>): void {
    const tracked = work.catch(() => undefined).finally(() => this.active.delete(tracked));
    this.active.add(tracked);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let family = routeFamily(req.url ?? '/');
    try {
      if (this.state !== 'listening') throw new BerthError('SHUTTING_DOWN', 'the gateway is shutting down');
      const route = matchRoute(req.url ?? '/');
      family = route.family;
      const endpoint = this.endpoints.get(route.endpoint);
      if (endpoint === undefined) throw new BerthError('NOT_FOUND', `endpoint "${route.endpoint}" not found`);
      this.authenticate(endpoint.config, req);
      checkDeclaredLength(req, this.options.maxBodyBytes);
      await this.route(endpoint, route, req, res);
    } catch (error) {
      sendError(res, req, family, toBerthError(error));
    }
  }

  private authenticate(config: EndpointConfig, req: IncomingMessage): void {
    if (config.authMode === 'none') return;
    const keys = config.keys;
    if (keys === undefined || !keyMatches(bearerToken(req.headers.authorization), keys)) {
      const given =
        req.headers.authorization === undefined
          ? 'no Authorization header'
          : 'a key that is not one of its keys';
      throw new BerthError(
        'UNAUTHORIZED',
        `endpoint "${config.name}" needs "Authorization: Bearer <key>" with its primary or secondary key; the request had ${given}`,
      );
    }
  }

  private chooseDeployment(
    endpoint: EndpointEntry,
    req: IncomingMessage,
  ): { entry: DeploymentEntry; named: boolean } {
    const named = namedDeployment(req.headers);
    const { name, traffic } = endpoint.config;
    if (named !== undefined) {
      const entry = endpoint.deployments.get(named);
      if (entry === undefined) {
        throw new BerthError(
          'NOT_FOUND',
          `endpoint "${name}" has no deployment "${named}" (deployments: ${[...endpoint.deployments.keys()].join(', ') || 'none'})`,
        );
      }
      return { entry, named: true };
    }
    const chosen = pickByWeight(traffic, this.options.random);
    const entry = chosen === undefined ? undefined : endpoint.deployments.get(chosen);
    if (entry === undefined) {
      throw new BerthError(
        'NOT_READY',
        `endpoint "${name}" sends no live traffic to any deployment (traffic is 0%): set traffic, or name a deployment with the berth-deployment header`,
      );
    }
    return { entry, named: false };
  }

  private async route(
    endpoint: EndpointEntry,
    route: GatewayRoute,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const { entry, named } = this.chooseDeployment(endpoint, req);
    const deployment = entry.config;
    entry.admission.acquire();
    entry.stats.requests += 1;
    try {
      const first = await this.firstReplica(deployment);
      const copy = named ? undefined : this.mirrorFor(endpoint, route, req);
      // Answering 413 closes the client's connection; that aborts the request, which ends the
      // proxy's upstream request too.
      watchBodySize(req, this.options.maxBodyBytes, (error) => {
        res.setHeader('connection', 'close');
        sendError(res, req, route.family, error);
      });
      await forward({
        req,
        res,
        path: route.upstreamPath,
        deployment: deployment.name,
        agent: this.agent,
        timeoutMs: deployment.requestSettings.requestTimeoutMs,
        replayLimitBytes: this.options.replayBufferBytes,
        first,
        pick: (exclude) => this.balancer.pick(deployment.replicas(), exclude),
        begin: (url) => this.balancer.begin(url),
        end: (url) => this.balancer.end(url),
        onBody: copy,
        sendError: (status, code, message, close) => {
          if (close) res.setHeader('connection', 'close');
          sendError(
            res,
            req,
            route.family,
            new BerthError(isErrorCode(code) ? code : 'INTERNAL', message),
            status,
          );
        },
      });
    } finally {
      entry.admission.release();
    }
  }

  /**
   * The replica a request goes to first. With none ready, a deployment that scales to zero is
   * asked for one and the request held (at most coldStartHoldMs); otherwise 503 at once.
   */
  private async firstReplica(deployment: GatewayDeployment): Promise<ReadyReplica> {
    let replicas = deployment.replicas();
    let first = this.balancer.pick(replicas);
    if (first === undefined && deployment.awaitReplica !== undefined) {
      if (await deployment.awaitReplica(this.options.coldStartHoldMs)) {
        replicas = deployment.replicas();
        first = this.balancer.pick(replicas);
      }
      if (first === undefined) {
        throw new BerthError(
          'NOT_READY',
          `deployment "${deployment.name}" has no replica ready after ${this.options.coldStartHoldMs} ms: ${noReplicaReason(deployment.name, replicas, deployment.instanceCount)}`,
        );
      }
    }
    if (first === undefined)
      throw new BerthError('NOT_READY', noReplicaReason(deployment.name, replicas, deployment.instanceCount));
    return first;
  }

  /** Whether this request is copied to the mirror; the copy goes once its body has arrived. */
  private mirrorFor(
    endpoint: EndpointEntry,
    route: GatewayRoute,
    req: IncomingMessage,
  ): ((body: Buffer) => void) | undefined {
    const mirror = mirrorTarget(endpoint.config.mirror);
    if (mirror === undefined || this.options.random() * 100 >= mirror.percent) return undefined;
    const entry = endpoint.deployments.get(mirror.deployment);
    if (entry === undefined) return undefined;
    const method = req.method ?? 'POST';
    const headers = req.headers;
    return (body) => {
      const replica = this.balancer.pick(entry.config.replicas());
      if (this.mirror.full || replica === undefined || !entry.admission.tryAcquire()) {
        entry.stats.mirrorDropped += 1;
        return;
      }
      this.balancer.begin(replica.url);
      entry.stats.mirrored += 1;
      this.mirror.send({
        url: replica.url,
        path: route.upstreamPath,
        method,
        headers,
        body,
        timeoutMs: entry.config.requestSettings.requestTimeoutMs,
        onDone: (ok) => {
          this.balancer.end(replica.url);
          entry.admission.release();
          if (!ok) entry.stats.mirrorFailed += 1;
        },
      });
    };
  }
}

export function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  return Gateway.start(options);
}
