/** The text `endpoint show` and `deployment show` print for a deployment on a Kubernetes target. */
import type { KubernetesCondition, KubernetesDetails } from '../../core/specs/index.js';

/** `42s`, `5m`, `3h`, `2d` since `iso`, as kubectl prints ages; `-` when unknown. */
export function age(iso: string | null, now: number): string {
  if (iso === null) return '-';
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (!Number.isFinite(seconds)) return '-';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** Rows aligned under a header, each line prefixed by `indent`. */
function table(indent: string, header: string[], rows: string[][]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]): string =>
    `${indent}${cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd()}`;
  return [line(header), ...rows.map(line)];
}

function conditionRows(conditions: readonly KubernetesCondition[]): string[][] {
  return conditions.map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '']);
}

const percent = (value: number | null, none: string): string => (value === null ? none : `${value}%`);

/** The lines under a deployment's name: replicas, autoscaler, pods with restarts, recent events. */
export function describeKubernetes(details: KubernetesDetails, now = Date.now()): string[] {
  const lines = [`deployment ${details.namespace}/${details.name}`];
  const replicas = details.replicas;
  lines.push(
    replicas === null
      ? '  replicas:   the Deployment is not in the cluster'
      : `  replicas:   ${replicas.ready} ready / ${replicas.desired} desired (${replicas.updated} updated, ${replicas.available} available)`,
  );
  if (details.conditions.length > 0) {
    lines.push(
      '  conditions:',
      ...table('    ', ['TYPE', 'STATUS', 'REASON', 'MESSAGE'], conditionRows(details.conditions)),
    );
  }
  const hpa = details.autoscaler;
  if (hpa === null) {
    lines.push('  autoscaler: none (no scale_settings)');
  } else {
    const current = hpa.currentReplicas ?? '?';
    const desired = hpa.desiredReplicas ?? '?';
    lines.push(
      `  autoscaler: HorizontalPodAutoscaler ${hpa.name} (${hpa.apiVersion}): ${current} current / ${desired} desired (min ${hpa.minReplicas}, max ${hpa.maxReplicas})`,
      `              cpu ${percent(hpa.currentCpuUtilization, 'no reading')} now / ${percent(hpa.targetCpuUtilization, '-')} target; last scaled ${hpa.lastScaleTime === null ? 'never' : `${age(hpa.lastScaleTime, now)} ago`}`,
    );
    if (hpa.conditions.length > 0) {
      lines.push(
        ...table('    ', ['CONDITION', 'STATUS', 'REASON', 'MESSAGE'], conditionRows(hpa.conditions)),
      );
    } else {
      lines.push('    conditions: none yet (the controller has not looked at it)');
    }
  }
  if (details.pods.length === 0) {
    lines.push('  pods:       none');
  } else {
    lines.push(
      '  pods:',
      ...table(
        '    ',
        ['POD', 'PHASE', 'READY', 'RESTARTS', 'LAST TERMINATION', 'NODE', 'REASON'],
        details.pods.map((pod) => {
          const end = pod.lastTermination;
          const ended =
            end === null
              ? '-'
              : `${end.reason}${end.exitCode === null ? '' : ` (exit ${end.exitCode})`}${end.finishedAt === null ? '' : ` ${age(end.finishedAt, now)} ago`}`;
          return [
            pod.name,
            pod.phase,
            pod.ready ? 'yes' : 'no',
            String(pod.restarts),
            ended,
            pod.node ?? '-',
            pod.reason ?? '',
          ];
        }),
      ),
    );
  }
  const total = details.events.length + details.eventsLeftOut;
  if (total === 0) {
    lines.push('  events:     none');
  } else {
    lines.push(
      `  events (${details.eventsLeftOut > 0 ? `the last ${details.events.length} of ${total}` : `${total}`}, oldest first):`,
      ...table(
        '    ',
        ['AGE', 'TYPE', 'REASON', 'OBJECT', 'COUNT', 'MESSAGE'],
        details.events.map((event) => [
          age(event.lastSeen, now),
          event.type,
          event.reason,
          event.object,
          String(event.count),
          event.message.replace(/\s*\n\s*/g, ' '),
        ]),
      ),
    );
  }
  return lines;
}
