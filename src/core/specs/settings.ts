/**
 * The part of deployment resolution that needs nothing but the spec: defaults filled (Azure's,
 * except where batching needs more concurrency), probe seconds turned into ms, quantities into
 * numbers. The SDK adds the workspace half (model files, scoring script) to make a
 * ResolvedDeployment.
 */
import type { DeploymentSpec, ProbeSpec } from './deployment.js';
import { parseCpu, parseMemory } from './quantities.js';
import { resolveScaleSettings, type ResolvedScaleSettings } from './scale-settings.js';

export interface ResolvedProbe {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

export interface DeploymentSettings {
  instanceCount: number;
  requestSettings: {
    requestTimeoutMs: number;
    maxConcurrentRequestsPerInstance: number;
    maxQueueWaitMs: number;
  };
  livenessProbe: ResolvedProbe;
  readinessProbe: ResolvedProbe;
  environmentVariables: Record<string, string>;
  batching: { enabled: boolean; maxBatchSize: number; maxQueueDelayMs: number };
  resources: { cpu: number | undefined; memoryBytes: number | undefined; gpu: number };
  dataCollection: { enabled: boolean; samplingRate: number } | undefined;
  /**
   * `default` keeps instanceCount; `target_utilization` scales between min and max
   * (scale-settings.ts). Always filled by resolution; absent in a deployment resolved before scale
   * settings were read, which means `default`.
   */
  scaleSettings?: ResolvedScaleSettings;
}

/** Azure ML's probe defaults, in seconds. */
export const probeDefaults = {
  initial_delay: 10,
  period: 10,
  timeout: 2,
  success_threshold: 1,
  failure_threshold: 30,
} as const;

export const requestDefaults = { request_timeout_ms: 5000, max_queue_wait_ms: 500 } as const;
export const batchingDefaults = { enabled: false, max_batch_size: 8, max_queue_delay_ms: 2 } as const;

function resolveProbe(probe: ProbeSpec | undefined): ResolvedProbe {
  const seconds = { ...probeDefaults, ...stripUndefined(probe ?? {}) };
  return {
    initialDelayMs: seconds.initial_delay * 1000,
    periodMs: seconds.period * 1000,
    timeoutMs: seconds.timeout * 1000,
    successThreshold: seconds.success_threshold,
    failureThreshold: seconds.failure_threshold,
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function isOn(value: boolean | string | undefined): boolean {
  return value === true || value === 'true' || value === 'True';
}

export function resolveDeploymentSettings(spec: DeploymentSpec): DeploymentSettings {
  const batching = { ...batchingDefaults, ...stripUndefined(spec.batching ?? {}) };
  const request = { ...requestDefaults, ...stripUndefined(spec.request_settings ?? {}) };
  // Azure serves one request per instance at a time; with batching that would never fill a batch,
  // so berth lets two batches' worth wait in the replica when batching is on.
  const concurrency =
    request.max_concurrent_requests_per_instance ?? (batching.enabled ? 2 * batching.max_batch_size : 1);
  const limits = spec.resources?.limits ?? {};
  const requests = spec.resources?.requests ?? {};
  const cpu = limits.cpu ?? requests.cpu;
  const memory = limits.memory ?? requests.memory;
  const collections = Object.values(spec.data_collector?.collections ?? {});
  const collecting = collections.some((collection) => isOn(collection.enabled));
  return {
    instanceCount: spec.instance_count,
    requestSettings: {
      requestTimeoutMs: request.request_timeout_ms,
      maxConcurrentRequestsPerInstance: concurrency,
      maxQueueWaitMs: request.max_queue_wait_ms,
    },
    livenessProbe: resolveProbe(spec.liveness_probe),
    readinessProbe: resolveProbe(spec.readiness_probe),
    environmentVariables: { ...(spec.environment_variables ?? {}) },
    batching: {
      enabled: batching.enabled,
      maxBatchSize: batching.max_batch_size,
      maxQueueDelayMs: batching.max_queue_delay_ms,
    },
    resources: {
      cpu: cpu === undefined ? undefined : parseCpu(cpu),
      memoryBytes: memory === undefined ? undefined : parseMemory(memory),
      gpu: limits['nvidia.com/gpu'] ?? requests['nvidia.com/gpu'] ?? 0,
    },
    dataCollection: collecting
      ? { enabled: true, samplingRate: spec.data_collector?.sampling_rate ?? 1 }
      : undefined,
    scaleSettings: resolveScaleSettings(spec),
  };
}
