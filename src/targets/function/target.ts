/**
 * The function target: each deployment is a function package (package.ts) run by a local function
 * host (host/function-host.ts) the way a functions platform runs it: one process per instance,
 * started by the first request and stopped when idle. The deployment's one address is the host's;
 * `status()` reports it as the single replica the gateway sends traffic to, ready while the host
 * runs, however many instances (zero included) run behind it.
 *
 * deploy() writes the package and proves it with a cold start (an instance answers
 * `/v2/health/ready`); a scoring script whose init throws fails the deploy with RUN_FAILED and the
 * script's message. update() writes the next package, proves it the same way on a fresh instance,
 * then swaps it in behind the same address. Packages live as long as the adapter: after a
 * control-plane restart the control plane calls deploy() again.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, toBerthError } from '../../core/errors.js';
import { targetCapabilities } from '../capabilities.js';
import { LogRing } from '../local/log-ring.js';
import { deploymentId } from '../shared/replica-set-target.js';
import { replicaTimeoutGraceMs } from '../shared/scoring-options.js';
import type {
  ComputeTarget,
  DeploymentHandle,
  DeploymentStatus,
  LogLine,
  LogOptions,
  Progress,
  ReplicaStatus,
  ResolvedDeployment,
  TargetCapabilities,
} from '../target.js';
import { validateForTarget } from '../validate.js';
import type { ResolvedFunctionTargetConfig } from './config.js';
import { FunctionHost, type HostStatistics } from './host/function-host.js';
import { writeFunctionFolder } from './package.js';

interface FunctionDeployment {
  id: string;
  spec: ResolvedDeployment;
  generation: number;
  host: FunctionHost | undefined;
  logs: LogRing;
  state: 'Healthy' | 'Failed' | 'Transitioning';
  reason: string | undefined;
}

const readyProbe = { method: 'GET', path: '/v2/health/ready', headers: {}, bodyBase64: '' };

export class FunctionTarget implements ComputeTarget {
  readonly kind = 'function';
  readonly capabilities: TargetCapabilities = targetCapabilities.function;
  private readonly deployments = new Map<string, FunctionDeployment>();
  private closed = false;

  constructor(readonly config: ResolvedFunctionTargetConfig) {}

  private packageDir(id: string, generation: number): string {
    return join(this.config.workDir, 'packages', ...id.split('/'), String(generation));
  }

  private environment(spec: ResolvedDeployment): Record<string, string | undefined> {
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TMPDIR: process.env.TMPDIR,
      BERTH_ENDPOINT: spec.endpointName,
      BERTH_DEPLOYMENT: spec.deploymentName,
      ...spec.environmentVariables,
    };
  }

  private async build(
    found: FunctionDeployment,
    spec: ResolvedDeployment,
    progress: Progress,
  ): Promise<string> {
    const started = Date.now();
    const dir = this.packageDir(found.id, found.generation);
    await writeFunctionFolder(spec, this.config.handler, join(this.config.workDir, 'cache'), dir);
    progress(`${found.id}: ${this.config.handler} package written to ${dir} in ${Date.now() - started} ms`);
    return dir;
  }

  /** A cold start on `host`'s current package: the ready route must answer 200. */
  private async prove(host: FunctionHost, id: string, progress: Progress): Promise<void> {
    const started = Date.now();
    const answer = await host.invoke(readyProbe);
    if (answer.status !== 200) {
      const text = Buffer.from(answer.bodyBase64, 'base64').toString('utf8');
      let message = text;
      try {
        const body = JSON.parse(text) as { error?: string; message?: string };
        message = body.error ?? body.message ?? text;
      } catch {
        // Not JSON: the text as it came.
      }
      throw new BerthError(
        'RUN_FAILED',
        `${id}: the function's cold start failed (${answer.status}): ${message}`,
      );
    }
    progress(`${id}: cold start to a ready answer in ${Date.now() - started} ms`);
  }

  private newHost(spec: ResolvedDeployment, found: FunctionDeployment, dir: string): FunctionHost {
    return new FunctionHost(dir, {
      name: `${spec.deploymentName}-${found.generation}`,
      kind: this.config.handler,
      maxInstances: this.config.maxInstances,
      idleTimeoutMs: this.config.idleTimeoutMs,
      startTimeoutMs: this.config.startTimeoutMs,
      invocationTimeoutMs: spec.requestSettings.requestTimeoutMs + 2 * replicaTimeoutGraceMs,
      nodePath: this.config.nodePath,
      env: this.environment(spec),
      log: (line) => found.logs.push(line),
      maxBodyBytes: 100 * 1024 * 1024,
    });
  }

  async deploy(spec: ResolvedDeployment, progress: Progress): Promise<DeploymentHandle> {
    if (this.closed) throw new BerthError('SHUTTING_DOWN', `target ${this.config.name} is closed`);
    const id = deploymentId(spec);
    if (this.deployments.has(id))
      throw new BerthError('CONFLICT', `deployment ${id} already runs on target ${this.config.name}`);
    for (const warning of validateForTarget(spec, this.capabilities, 'function'))
      progress(`warning: ${warning}`);
    const found: FunctionDeployment = {
      id,
      spec,
      generation: 1,
      host: undefined,
      logs: new LogRing(
        this.config.logRingLines,
        join(this.config.workDir, 'logs', `${id.replace('/', '.')}.log`),
      ),
      state: 'Transitioning',
      reason: undefined,
    };
    this.deployments.set(id, found);
    try {
      const dir = await this.build(found, spec, progress);
      const host = this.newHost(spec, found, dir);
      found.host = host;
      await host.listen();
      await this.prove(host, id, progress);
    } catch (error) {
      const berth = toBerthError(error, 'RUN_FAILED');
      found.state = 'Failed';
      found.reason = berth.message;
      await found.host?.close();
      found.host = undefined;
      throw berth;
    }
    found.state = 'Healthy';
    return this.handle(found);
  }

  async update(
    handle: DeploymentHandle,
    spec: ResolvedDeployment,
    progress: Progress,
  ): Promise<DeploymentHandle> {
    const found = this.find(handle);
    const host = found.host;
    if (host === undefined)
      throw new BerthError('CONFLICT', `deployment ${found.id} failed; remove it and deploy again`);
    for (const warning of validateForTarget(spec, this.capabilities, 'function'))
      progress(`warning: ${warning}`);
    found.generation += 1;
    const dir = await this.build(found, spec, progress);
    // The next package is proved on a host of its own, so live traffic never meets a broken one.
    const trial = this.newHost(spec, found, dir);
    try {
      await this.prove(trial, found.id, progress);
    } finally {
      await trial.close();
    }
    host.swap(dir, this.environment(spec));
    const previous = this.packageDir(found.id, found.generation - 1);
    found.spec = spec;
    progress(`${found.id}: now serving package ${found.generation}`);
    // Old instances stop as they finish; their files go once none runs.
    setTimeout(
      () => void rm(previous, { recursive: true, force: true }).catch(() => undefined),
      30_000,
    ).unref();
    return this.handle(found);
  }

  status(handle: DeploymentHandle): Promise<DeploymentStatus> {
    const found = this.deployments.get(handle.id);
    if (found === undefined) return Promise.reject(this.notFound(handle));
    return Promise.resolve({ state: found.state, reason: found.reason, replicas: this.replicas(found) });
  }

  currentReplicas(handle: DeploymentHandle): ReplicaStatus[] {
    const found = this.deployments.get(handle.id);
    return found === undefined ? [] : this.replicas(found);
  }

  /** Cold starts, invocations and running instances of a deployment's host. */
  statistics(handle: DeploymentHandle): HostStatistics | undefined {
    return this.deployments.get(handle.id)?.host?.statistics();
  }

  /** The instance processes a deployment runs now (none once idle: scale to zero). */
  instancePids(handle: DeploymentHandle): number[] {
    return this.deployments.get(handle.id)?.host?.pids() ?? [];
  }

  logs(handle: DeploymentHandle, options: LogOptions): AsyncIterable<LogLine> {
    const found = this.find(handle);
    return found.logs.read(options.lines, options.follow, options.signal);
  }

  async remove(handle: DeploymentHandle): Promise<void> {
    const found = this.deployments.get(handle.id);
    if (found === undefined) return;
    this.deployments.delete(handle.id);
    await found.host?.close();
    await found.logs.close();
    await rm(join(this.config.workDir, 'packages', ...found.id.split('/')), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.deployments.values()];
    await Promise.all(all.map((found) => this.remove(this.handle(found))));
  }

  private find(handle: DeploymentHandle): FunctionDeployment {
    const found = this.deployments.get(handle.id);
    if (found === undefined) throw this.notFound(handle);
    return found;
  }

  private notFound(handle: DeploymentHandle): BerthError {
    return new BerthError('NOT_FOUND', `no deployment ${handle.id} on target ${this.config.name}`);
  }

  private replicas(found: FunctionDeployment): ReplicaStatus[] {
    if (found.host === undefined) return [];
    return [
      {
        id: `${found.spec.deploymentName}-function`,
        url: found.host.url,
        state: 'ready',
        restarts: 0,
        reason: undefined,
      },
    ];
  }

  private handle(found: FunctionDeployment): DeploymentHandle {
    return {
      target: this.config.name,
      kind: 'function',
      id: found.id,
      data: {
        url: found.host?.url,
        handler: this.config.handler,
        package: this.packageDir(found.id, found.generation),
      },
    };
  }
}
