/**
 * What berth names and labels in a cluster. Every object of a deployment carries the four labels
 * below; removal and status select on them, so berth finds everything it owns and nothing else.
 * Object names are DNS-1123 labels built from the endpoint and deployment names; a name that had
 * to be changed (upper case, `_`, too long) gets a hash suffix, so two deployments never share one.
 */
import { createHash } from 'node:crypto';

export const managedByLabel = 'app.kubernetes.io/managed-by';
export const targetLabel = 'berth.dev/target';
export const endpointLabel = 'berth.dev/endpoint';
export const deploymentLabel = 'berth.dev/deployment';
/** The field manager of every server-side apply berth sends. */
export const fieldManager = 'berth';

export interface DeploymentRef {
  target: string;
  endpoint: string;
  deployment: string;
}

function shortHash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 8);
}

/** A label value: at most 63 of [A-Za-z0-9_.-], starting and ending alphanumeric. */
export function labelValue(value: string): string {
  if (/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/.test(value)) return value;
  const stem = value
    .replace(/[^A-Za-z0-9_.-]/g, '')
    .replace(/[^A-Za-z0-9]+$/, '')
    .slice(0, 50);
  return `${stem === '' ? 'x' : stem}-${shortHash(value)}`;
}

/** The name of every object of one deployment: `<endpoint>-<deployment>`, made a DNS-1123 label. */
export function objectName(ref: Pick<DeploymentRef, 'endpoint' | 'deployment'>): string {
  const wanted = `${ref.endpoint}-${ref.deployment}`;
  const cleaned = wanted.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (cleaned === wanted && cleaned.length <= 63 && /[a-z0-9]$/.test(cleaned)) return cleaned;
  const stem = cleaned.slice(0, 54).replace(/-+$/, '');
  return `${stem}-${shortHash(ref.endpoint, ref.deployment)}`;
}

/** The labels every object of the deployment carries (and the pods' selector). */
export function ownedLabels(ref: DeploymentRef): Record<string, string> {
  return {
    [managedByLabel]: 'berth',
    [targetLabel]: labelValue(ref.target),
    [endpointLabel]: labelValue(ref.endpoint),
    [deploymentLabel]: labelValue(ref.deployment),
  };
}

/** A label selector string for `labels`. */
export function selectorOf(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** Everything berth owns on one target (no endpoint or deployment: for listing and cleanup). */
export function targetSelector(target: string): string {
  return selectorOf({ [managedByLabel]: 'berth', [targetLabel]: labelValue(target) });
}
