/**
 * Containers through the Engine API: one per replica, created from the deployment's image with
 * its CPU and memory limits, an engine health check on the liveness route, a restart policy,
 * `berth.*` labels that tie it to its target, endpoint and deployment, and the scoring port
 * published on the target's host interface (a free port the engine picks).
 */
import { BerthError, isErrorCode, type ErrorCode } from '../../core/errors.js';
import type { ProbeSettings, ResolvedDeployment } from '../target.js';
import { containerPort, healthCheckCommand, modelDirInImage } from './build-context.js';
import type { ResolvedContainerTargetConfig } from './config.js';
import { engineError, type Engine } from './engine.js';
import { demultiplex } from './logs.js';
import { REPLICA_TOKEN_ENV } from '../../scoring/auth.js';
import { replicaMemory } from '../shared/replica-limits.js';

export interface ReplicaIdentity {
  target: string;
  endpoint: string;
  deployment: string;
  generation: number;
  replica: string;
}

export function labelsOf(identity: ReplicaIdentity): Record<string, string> {
  return {
    'berth.managed': 'true',
    'berth.target': identity.target,
    'berth.endpoint': identity.endpoint,
    'berth.deployment': identity.deployment,
    'berth.generation': String(identity.generation),
    'berth.replica': identity.replica,
  };
}

const nanosecondsPerMs = 1_000_000;

function healthCheck(probe: ProbeSettings): Record<string, unknown> {
  return {
    Test: healthCheckCommand,
    Interval: Math.max(probe.periodMs, 1000) * nanosecondsPerMs,
    Timeout: Math.max(probe.timeoutMs, 1000) * nanosecondsPerMs,
    Retries: probe.failureThreshold,
    StartPeriod: Math.max(probe.initialDelayMs, 1000) * nanosecondsPerMs,
  };
}

/** The name a replica's container gets: unique per target, readable in `docker ps`. */
export function containerName(identity: ReplicaIdentity): string {
  return `berth-${identity.target}-${identity.endpoint}-${identity.replica}`.replace(/[^a-zA-Z0-9_.-]/g, '-');
}

export async function createContainer(
  engine: Engine,
  config: ResolvedContainerTargetConfig,
  image: string,
  spec: ResolvedDeployment,
  identity: ReplicaIdentity,
  token: string,
): Promise<string> {
  const env = {
    AZUREML_MODEL_DIR: modelDirInImage,
    BERTH_MODEL_DIR: modelDirInImage,
    BERTH_ENDPOINT: spec.endpointName,
    BERTH_DEPLOYMENT: spec.deploymentName,
    BERTH_REPLICA: identity.replica,
    ...spec.environmentVariables,
    // Last, so no deployment variable replaces it: see scoring/auth.ts.
    [REPLICA_TOKEN_ENV]: token,
  };
  const port = `${containerPort}/tcp`;
  try {
    const container = await engine.createContainer({
      name: containerName(identity),
      Image: image,
      Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
      Labels: labelsOf(identity),
      ExposedPorts: { [port]: {} },
      Healthcheck: healthCheck(spec.livenessProbe),
      StopTimeout: Math.ceil((spec.requestSettings.requestTimeoutMs + 3500) / 1000),
      HostConfig: {
        PortBindings: { [port]: [{ HostIp: config.publishHost, HostPort: '' }] },
        NanoCpus: spec.resources.cpu === undefined ? 0 : Math.round(spec.resources.cpu * 1e9),
        // Never unlimited: without resources.memory, the default limit (printed at deploy time).
        Memory: replicaMemory(spec).bytes,
        RestartPolicy:
          config.restartPolicy === 'on-failure'
            ? { Name: 'on-failure', MaximumRetryCount: 10 }
            : { Name: config.restartPolicy },
        Init: true,
      },
    });
    return container.id;
  } catch (error) {
    throw engineError(config.dockerHost, `cannot create container ${containerName(identity)}`, error);
  }
}

export interface ContainerState {
  running: boolean;
  status: string;
  exitCode: number;
  restartCount: number;
  health: string | undefined;
  /** The published host port of the scoring port, once the container runs. */
  hostPort: number | undefined;
  error: string;
}

export async function inspectContainer(
  engine: Engine,
  dockerHost: string,
  id: string,
): Promise<ContainerState> {
  try {
    const info = await engine.getContainer(id).inspect();
    const binding = info.NetworkSettings.Ports?.[`${containerPort}/tcp`]?.[0];
    return {
      running: info.State.Running,
      status: info.State.Status,
      exitCode: info.State.ExitCode,
      restartCount: info.RestartCount,
      health: info.State.Health?.Status,
      hostPort: binding === undefined ? undefined : Number(binding.HostPort),
      error: info.State.Error,
    };
  } catch (error) {
    throw engineError(dockerHost, `cannot inspect container ${id.slice(0, 12)}`, error);
  }
}

export async function startContainer(engine: Engine, dockerHost: string, id: string): Promise<void> {
  try {
    await engine.getContainer(id).start();
  } catch (error) {
    throw engineError(dockerHost, `cannot start container ${id.slice(0, 12)}`, error);
  }
}

export async function restartContainer(engine: Engine, dockerHost: string, id: string): Promise<void> {
  try {
    await engine.getContainer(id).restart({ t: 2 });
  } catch (error) {
    throw engineError(dockerHost, `cannot restart container ${id.slice(0, 12)}`, error);
  }
}

/** Stops (SIGTERM, then SIGKILL after `graceSeconds`) and removes; a container already gone is fine. */
export async function removeContainer(
  engine: Engine,
  dockerHost: string,
  id: string,
  graceSeconds: number,
): Promise<void> {
  const container = engine.getContainer(id);
  try {
    await container.stop({ t: graceSeconds });
  } catch (error) {
    const status = (error as { statusCode?: unknown }).statusCode;
    if (status !== 304 && status !== 404)
      throw engineError(dockerHost, `cannot stop container ${id.slice(0, 12)}`, error);
  }
  try {
    await container.remove({ force: true, v: true });
  } catch (error) {
    const status = (error as { statusCode?: unknown }).statusCode;
    if (status !== 404 && status !== 409)
      throw engineError(dockerHost, `cannot remove container ${id.slice(0, 12)}`, error);
  }
}

/** Ids of the containers carrying every given label (running or not). */
export async function findContainers(
  engine: Engine,
  dockerHost: string,
  labels: Record<string, string>,
): Promise<string[]> {
  try {
    const found = await engine.listContainers({
      all: true,
      filters: JSON.stringify({ label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) }),
    });
    return found.map((container) => container.Id);
  } catch (error) {
    throw engineError(dockerHost, 'cannot list containers', error);
  }
}

/** The last lines a container printed, demultiplexed: what a start failure is explained with. */
export async function containerOutput(engine: Engine, id: string, lines: number): Promise<string[]> {
  try {
    const raw = await engine.getContainer(id).logs({
      stdout: true,
      stderr: true,
      tail: lines,
      follow: false,
    });
    return demultiplex(raw).map((frame) => frame.text);
  } catch {
    return [];
  }
}

export function assertRunning(state: ContainerState, replica: string, output: string[]): void {
  if (state.status === 'running' && state.restartCount === 0) return;
  const failure = output.map(failureOf).find((found) => found !== undefined);
  if (failure !== undefined) throw new BerthError(failure.code, failure.message);
  const tail = output.slice(-5).join('\n');
  throw new BerthError(
    'RUN_FAILED',
    `container of replica ${replica} ${state.status} (exit code ${state.exitCode})${state.error === '' ? '' : `: ${state.error}`}${tail === '' ? '' : `; its last output:\n${tail}`}`,
  );
}

/** The scoring server's `{"event":"failed",…}` line: its own code and message. */
function failureOf(text: string): { code: ErrorCode; message: string } | undefined {
  if (!text.startsWith('{"event":"failed"')) return undefined;
  try {
    const event = JSON.parse(text) as { code?: unknown; message?: unknown };
    if (typeof event.message !== 'string') return undefined;
    return { code: isErrorCode(event.code) ? event.code : 'RUN_FAILED', message: event.message };
  } catch {
    return undefined;
  }
}
