/**
 * What an endpoint's in-cluster gateway routes by: the JSON its ConfigMap holds (traffic, mirror,
 * and per deployment the objects and pod selector it has in the cluster), written by berth and read
 * by the gateway pods (src/endpoints/in-cluster.ts) whenever it changes. The keys are not in it: they are in the
 * gateway's Secret, and the ConfigMap holds only their sha256, so a new key changes the ConfigMap
 * and the pods read the Secret again. Parsed with zod on the pod's side: a ConfigMap edited by hand
 * into something else is refused with the field that is wrong, and the pods keep the last good one.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { BerthError } from '../../core/errors.js';
import type { EndpointRouting } from '../target.js';
import { objectName, ownedLabels, selectorOf } from './names.js';

/** The ConfigMap key the config is under. */
export const gatewayConfigKey = 'endpoint.json';
/** The gateway Secret's keys (the endpoint's primary and secondary keys). */
export const primaryKeyField = 'primary-key';
export const secondaryKeyField = 'secondary-key';

const percents = z.record(z.string(), z.number().int().min(0).max(100));

export const gatewayConfigSchema = z.strictObject({
  endpoint: z.string().min(1),
  authMode: z.enum(['key', 'none']),
  /** sha256 of the keys in the gateway's Secret ('' with auth_mode none). */
  keysSha256: z.string(),
  traffic: percents,
  mirror: percents,
  deployments: z.array(
    z.strictObject({
      name: z.string().min(1),
      /** The deployment's objects (its token Secret) in the namespace; null: it runs on another target. */
      object: z.string().min(1).nullable(),
      /** Its pods' label selector; null as `object`. */
      selector: z.string().min(1).nullable(),
      requestTimeoutMs: z.number().int().positive(),
      maxConcurrentRequestsPerInstance: z.number().int().positive(),
      instanceCount: z.number().int().nonnegative(),
    }),
  ),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

export function keysSha256(keys: EndpointRouting['keys']): string {
  if (keys === undefined) return '';
  return createHash('sha256')
    .update(`${keys.primary}\0${keys.secondary ?? ''}`)
    .digest('hex');
}

/** The config of `endpoint` as the gateway of the target named `target` routes it. */
export function gatewayConfig(target: string, endpoint: string, routing: EndpointRouting): GatewayConfig {
  return {
    endpoint,
    authMode: routing.authMode,
    keysSha256: routing.authMode === 'key' ? keysSha256(routing.keys) : '',
    traffic: routing.traffic,
    mirror: routing.mirror,
    deployments: routing.deployments.map((deployment) => {
      const here = deployment.target === target;
      const ref = { target, endpoint, deployment: deployment.name };
      return {
        name: deployment.name,
        object: here ? objectName(ref) : null,
        selector: here ? selectorOf(ownedLabels(ref)) : null,
        requestTimeoutMs: deployment.requestTimeoutMs,
        maxConcurrentRequestsPerInstance: deployment.maxConcurrentRequestsPerInstance,
        instanceCount: deployment.instanceCount,
      };
    }),
  };
}

/** The config as the ConfigMap holds it: stable key order, so an unchanged endpoint is an unchanged ConfigMap. */
export function gatewayConfigText(config: GatewayConfig): string {
  const sorted = (record: Record<string, number>) =>
    Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
  return `${JSON.stringify(
    {
      ...config,
      traffic: sorted(config.traffic),
      mirror: sorted(config.mirror),
      deployments: [...config.deployments].sort((a, b) => a.name.localeCompare(b.name)),
    },
    null,
    2,
  )}\n`;
}

/** sha256 of the ConfigMap's text: what a gateway pod reports once it routes by it. */
export function gatewayConfigSha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function parseGatewayConfig(text: string): GatewayConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BerthError('INVALID_SPEC', `gateway config: not JSON: ${String(error)}`);
  }
  const parsed = gatewayConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new BerthError('INVALID_SPEC', `gateway config: ${issues.join('; ')}`);
  }
  return parsed.data;
}
