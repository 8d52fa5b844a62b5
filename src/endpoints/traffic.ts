/**
 * Traffic rules: validation of a split and a mirror (with messages that say what to change), and
 * the weighted random choice of the deployment a request goes to.
 */
import { BerthError } from '../core/errors.js';

export interface TrafficSettings {
  traffic: Record<string, number>;
  mirror: Record<string, number>;
  /** The endpoint's deployment names. */
  deployments: readonly string[];
}

export const maxMirrorPercent = 50;

function isPercent(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 100;
}

/** Throws INVALID_SPEC listing every problem with the split and the mirror. */
export function validateTraffic(settings: TrafficSettings, endpoint = 'the endpoint'): void {
  const problems: string[] = [];
  const known = new Set(settings.deployments);
  const list = settings.deployments.length === 0 ? 'none' : settings.deployments.join(', ');
  let total = 0;
  for (const [name, percent] of Object.entries(settings.traffic)) {
    if (!known.has(name))
      problems.push(
        `traffic names deployment "${name}", which ${endpoint} does not have (deployments: ${list})`,
      );
    if (!isPercent(percent))
      problems.push(`traffic for "${name}" is ${percent}: use a whole percentage from 0 to 100`);
    else total += percent;
  }
  if (total !== 0 && total !== 100) {
    problems.push(`traffic adds up to ${total}%: it must total 100% (or 0% to send live traffic nowhere)`);
  }
  const mirrors = Object.entries(settings.mirror).filter(([, percent]) => percent !== 0);
  if (mirrors.length > 1) {
    problems.push(
      `mirror names ${mirrors.length} deployments (${mirrors.map(([name]) => name).join(', ')}): mirror to one deployment at most`,
    );
  }
  for (const [name, percent] of mirrors) {
    if (!known.has(name))
      problems.push(
        `mirror names deployment "${name}", which ${endpoint} does not have (deployments: ${list})`,
      );
    if (!isPercent(percent) || percent > maxMirrorPercent) {
      problems.push(
        `mirror for "${name}" is ${percent}%: use a whole percentage from 0 to ${maxMirrorPercent}`,
      );
    }
    if ((settings.traffic[name] ?? 0) > 0) {
      problems.push(
        `deployment "${name}" takes ${settings.traffic[name]}% of live traffic and cannot also be the mirror: set its traffic to 0 first`,
      );
    }
  }
  if (problems.length > 0)
    throw new BerthError('INVALID_SPEC', `invalid traffic for ${endpoint}: ${problems.join('; ')}`);
}

/** Weighted random: a deployment name, or undefined when every weight is 0. */
export function pickByWeight(weights: Record<string, number>, random: () => number): string | undefined {
  const entries = Object.entries(weights).filter(([, weight]) => weight > 0);
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  if (total === 0) return undefined;
  let point = random() * total;
  for (const [name, weight] of entries) {
    point -= weight;
    if (point < 0) return name;
  }
  return entries[entries.length - 1]?.[0];
}

/** The mirror deployment and its share, or undefined when nothing is mirrored. */
export function mirrorTarget(
  mirror: Record<string, number>,
): { deployment: string; percent: number } | undefined {
  for (const [deployment, percent] of Object.entries(mirror)) {
    if (percent > 0) return { deployment, percent };
  }
  return undefined;
}
