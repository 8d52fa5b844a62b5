/** What the endpoint, deployment and server commands share: reaching the SDK, printing warnings and views. */
import { BerthError } from '../../core/errors.js';
import type { DeploymentView, EndpointView } from '../../core/specs/index.js';
import { formatSpecIssue, type SpecIssue } from '../../core/yaml.js';
import { EndpointOperations } from '../../sdk/endpoints.js';
import type { CliContext } from '../context.js';
import { printTable } from '../output.js';
import { describeKubernetes } from './endpoint-kubernetes.js';

/** The workspace's endpoint operations; the workspace must exist (WORKSPACE_MISSING otherwise). */
export async function openEndpoints(context: CliContext): Promise<EndpointOperations> {
  const workspace = await context.openWorkspace();
  const workspaceDir = workspace.dir;
  await workspace.close();
  return new EndpointOperations({ workspaceDir });
}

export function printWarnings(
  context: CliContext,
  warnings: readonly SpecIssue[],
  messages: readonly string[] = [],
): void {
  for (const warning of warnings) context.io.stderr.write(`berth: warning: ${formatSpecIssue(warning)}\n`);
  for (const message of messages) {
    if (message.startsWith('warning: ')) context.io.stderr.write(`berth: ${message}\n`);
  }
}

/** `blue=90,green=10` → { blue: 90, green: 10 }; values must be whole numbers. */
export function parsePercentList(text: string, flag: string): Record<string, number> {
  const result: Record<string, number> = {};
  for (const part of text.split(/[,\s]+/).filter(Boolean)) {
    const at = part.indexOf('=');
    const name = part.slice(0, at);
    const value = Number(part.slice(at + 1));
    if (at <= 0 || part.slice(at + 1) === '' || !Number.isFinite(value)) {
      throw new BerthError(
        'BAD_INPUT',
        `invalid ${flag} ${JSON.stringify(part)}: use name=percent, e.g. blue=90,green=10`,
      );
    }
    result[name] = value;
  }
  return result;
}

function percents(map: Record<string, number>): string {
  const entries = Object.entries(map);
  return entries.length === 0 ? '-' : entries.map(([name, value]) => `${name}=${value}`).join(', ');
}

/** An autoscaled deployment's line: replicas now / desired, bounds, and the last decision. */
export function describeScaling(scaling: NonNullable<DeploymentView['scaling']>): string[] {
  const utilization = scaling.utilization === null ? 'no reading' : `${Math.round(scaling.utilization)}%`;
  const lines = [
    `replicas ${scaling.replicas} now / ${scaling.desired} desired (min ${scaling.minInstances}, max ${scaling.maxInstances}, target ${scaling.targetUtilizationPercentage}%, utilization ${utilization})`,
  ];
  const last = scaling.lastDecision;
  lines.push(
    last === null
      ? 'last scaling decision: none yet'
      : `last scaling decision: ${last.from} → ${last.to} at ${last.at}: ${last.reason}`,
  );
  if (scaling.lastPoll !== null) lines.push(`last poll: ${scaling.lastPoll}`);
  return lines;
}

export function describeDeployment(deployment: DeploymentView): string {
  const lines = [
    `${deployment.endpointName}/${deployment.name}  ${deployment.state}${deployment.reason ? ` (${deployment.reason})` : ''}`,
    `  target:    ${deployment.target}`,
    `  model:     ${deployment.model}`,
    `  instances: ${deployment.instanceCount} (${deployment.replicas.filter((r) => r.state === 'ready').length} ready)`,
    `  traffic:   ${deployment.traffic}%${deployment.mirrorTraffic > 0 ? `, mirror ${deployment.mirrorTraffic}%` : ''}`,
  ];
  if (deployment.scaling)
    lines.push(...describeScaling(deployment.scaling).map((line) => `  scaling:   ${line}`));
  for (const replica of deployment.replicas) {
    lines.push(
      `    ${replica.id}  ${replica.state}  restarts ${replica.restarts}${replica.url ? `  ${replica.url}` : ''}${replica.reason ? `  ${replica.reason}` : ''}`,
    );
  }
  if (deployment.kubernetes)
    lines.push(...describeKubernetes(deployment.kubernetes).map((line) => `  ${line}`));
  return `${lines.join('\n')}\n`;
}

export function describeEndpoint(context: CliContext, endpoint: EndpointView): void {
  const lines = [
    `${endpoint.name}  ${endpoint.state}${endpoint.reason ? ` (${endpoint.reason})` : ''}`,
    `  auth mode:   ${endpoint.authMode}`,
    `  target:      ${endpoint.target}`,
    `  scoring URI: ${endpoint.scoringUri}`,
    `  swagger URI: ${endpoint.swaggerUri}`,
    `  traffic:     ${percents(endpoint.traffic)}`,
    `  mirror:      ${percents(endpoint.mirrorTraffic)}`,
  ];
  if (endpoint.description) lines.push(`  description: ${endpoint.description}`);
  context.io.stdout.write(`${lines.join('\n')}\n`);
  if (endpoint.deployments.length === 0) {
    context.io.stdout.write('  deployments: none (see berth deployment create --help)\n');
    return;
  }
  context.io.stdout.write('\n');
  printTable(
    context.io,
    ['DEPLOYMENT', 'STATE', 'MODEL', 'REPLICAS', 'TRAFFIC', 'MIRROR', 'REASON'],
    endpoint.deployments.map((d) => [
      d.name,
      d.state,
      d.model,
      d.kubernetes?.replicas
        ? `${d.kubernetes.replicas.ready}/${d.kubernetes.replicas.desired}`
        : `${d.replicas.filter((r) => r.state === 'ready').length}/${d.scaling?.desired ?? d.instanceCount}`,
      `${d.traffic}%`,
      `${d.mirrorTraffic}%`,
      d.reason ?? '',
    ]),
  );
  for (const d of endpoint.deployments) {
    if (!d.scaling) continue;
    context.io.stdout.write(`\n  ${d.name} autoscaling:\n`);
    for (const line of describeScaling(d.scaling)) context.io.stdout.write(`    ${line}\n`);
  }
  for (const d of endpoint.deployments) {
    if (!d.kubernetes) continue;
    context.io.stdout.write(`\n  ${d.name} on kubernetes:\n`);
    for (const line of describeKubernetes(d.kubernetes)) context.io.stdout.write(`    ${line}\n`);
  }
}
