/**
 * Which spec fields a target kind honours. A field set in the YAML that the chosen target ignores
 * is reported as a warning naming the field and the reason: an Azure file keeps working, and the
 * user learns what berth does not do with it. (Resource limits are checked against the target's
 * capabilities by the targets layer's validateForTarget, once the model's size is known.) The kinds are the target kinds' names (core cannot
 * import the targets layer); the targets' capabilities table is the source of these facts.
 */
import type { SpecIssue, SpecPath } from '../yaml.js';
import { formatSpecPath } from '../yaml.js';

interface FieldRule {
  /** Target kinds that honour the field. */
  honouredBy: readonly string[];
  why: string;
}

const everywhere: readonly string[] = [];

export const deploymentFieldRules: Record<string, FieldRule> = {
  instance_type: {
    honouredBy: ['kubernetes', 'cluster'],
    why: 'replicas run where the target puts them; size them with resources',
  },
  scale_settings: {
    honouredBy: ['kubernetes'],
    why: 'the target does not autoscale: instance_count replicas are kept',
  },
  environment: {
    honouredBy: ['container', 'kubernetes'],
    why: "replicas run berth's scoring server on this machine's Node.js, not in an image",
  },
  app_insights_enabled: {
    honouredBy: everywhere,
    why: 'berth has no Application Insights: use `berth deployment logs` and the /metrics route',
  },
  egress_public_network_access: {
    honouredBy: everywhere,
    why: 'berth does not restrict outbound network access',
  },
  model_mount_path: {
    honouredBy: everywhere,
    why: 'the scoring script gets the model folder as ctx.modelDir',
  },
  'data_collector.rolling_rate': {
    honouredBy: everywhere,
    why: 'collected data rotates by size, not by time',
  },
  'data_collector.request_logging': {
    honouredBy: everywhere,
    why: 'request logging is not collected',
  },
  properties: { honouredBy: everywhere, why: 'kept by Azure only' },
};

export const endpointFieldRules: Record<string, FieldRule> = {
  compute: { honouredBy: everywhere, why: 'the target is chosen with `target:` (default local)' },
  identity: { honouredBy: everywhere, why: 'berth endpoints have no managed identity' },
  public_network_access: {
    honouredBy: everywhere,
    why: 'the gateway listens where `berth server` binds it (loopback by default)',
  },
  kind: { honouredBy: everywhere, why: 'kept by Azure only' },
};

function has(value: unknown, path: readonly string[]): boolean {
  let node: unknown = value;
  for (const part of path) {
    if (typeof node !== 'object' || node === null || !(part in node)) return false;
    node = (node as Record<string, unknown>)[part];
  }
  return node !== undefined;
}

/** Warnings for every field of `spec` set in the file that target kind `kind` does not honour. */
export function inapplicableFieldWarnings(
  rules: Record<string, FieldRule>,
  spec: unknown,
  kind: string,
  file: string,
  lineOf: (path: SpecPath) => number | undefined,
): SpecIssue[] {
  const warnings: SpecIssue[] = [];
  for (const [field, rule] of Object.entries(rules)) {
    const path = field.split('.');
    if (!has(spec, path) || rule.honouredBy.includes(kind)) continue;
    warnings.push({
      file,
      line: lineOf(path),
      path: formatSpecPath(path),
      message: `ignored on target "${kind}": ${rule.why}`,
    });
  }
  return warnings;
}
