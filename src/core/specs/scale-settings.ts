/**
 * `scale_settings` resolved: Azure's two types and field names (`default` keeps instance_count;
 * `target_utilization` with min_instances, max_instances, target_utilization_percentage and
 * polling_interval, Azure's defaults 1, 1, 70 and 1 s), plus berth's delays, in seconds in the
 * file and milliseconds here:
 *
 * - `scale_up_delay` (default polling_interval: above the target at two polls in a row):
 *   utilization must stay above the target this long before replicas are added, so one burst
 *   does not start a replica.
 * - `scale_down_delay` (default 60 s): the replicas must have been more than needed this long
 *   before one is removed, one at a time, each after a fresh window.
 * - `idle_timeout` (default 300 s, with min_instances 0 only): no request for this long stops the
 *   last replicas; the gateway holds the next request while one starts.
 */
import { BerthError } from '../errors.js';
import type { DeploymentSpec } from './deployment.js';

export type ResolvedScaleSettings =
  | { type: 'default' }
  | {
      type: 'target_utilization';
      minInstances: number;
      maxInstances: number;
      targetUtilizationPercentage: number;
      pollingIntervalMs: number;
      scaleUpDelayMs: number;
      scaleDownDelayMs: number;
      idleTimeoutMs: number;
    };

export type TargetUtilization = Extract<ResolvedScaleSettings, { type: 'target_utilization' }>;

/** Azure's defaults for target_utilization, and berth's delays (seconds). */
export const scaleDefaults = {
  min_instances: 1,
  max_instances: 1,
  target_utilization_percentage: 70,
  polling_interval: 1,
  scale_down_delay: 60,
  idle_timeout: 300,
} as const;

export function resolveScaleSettings(spec: DeploymentSpec): ResolvedScaleSettings {
  const given = spec.scale_settings;
  if (given?.type !== 'target_utilization') return { type: 'default' };
  const min = given.min_instances ?? scaleDefaults.min_instances;
  const max = given.max_instances ?? Math.max(scaleDefaults.max_instances, min);
  if (min > max) {
    throw new BerthError(
      'INVALID_SPEC',
      `scale_settings: min_instances (${min}) is more than max_instances (${max})`,
    );
  }
  const polling = given.polling_interval ?? scaleDefaults.polling_interval;
  const seconds = (value: number): number => Math.round(value * 1000);
  return {
    type: 'target_utilization',
    minInstances: min,
    maxInstances: max,
    targetUtilizationPercentage:
      given.target_utilization_percentage ?? scaleDefaults.target_utilization_percentage,
    pollingIntervalMs: seconds(polling),
    scaleUpDelayMs: seconds(given.scale_up_delay ?? polling),
    scaleDownDelayMs: seconds(given.scale_down_delay ?? scaleDefaults.scale_down_delay),
    idleTimeoutMs: seconds(given.idle_timeout ?? scaleDefaults.idle_timeout),
  };
}

/** How many replicas a deployment starts with: instance_count, kept within [max(min, 1), max]. */
export function initialInstances(instanceCount: number, scale: ResolvedScaleSettings): number {
  if (scale.type === 'default') return instanceCount;
  return Math.min(scale.maxInstances, Math.max(instanceCount, scale.minInstances, 1));
}

/** The most replicas a deployment may run: the gateway's admission bound is sized by it. */
export function maxInstances(instanceCount: number, scale: ResolvedScaleSettings | undefined): number {
  return scale?.type === 'target_utilization' ? scale.maxInstances : instanceCount;
}
