/** How `berth job show` prints a job: its status, what ran, its attempts, and a chart per metric. */
import { sparkline, type RunMetrics } from '../../jobs/metrics.js';
import type { JobView } from '../../sdk/jobs.js';

function seconds(from: string | undefined, to: string | undefined): string {
  if (from === undefined) return '-';
  const end = to === undefined ? Date.now() : Date.parse(to);
  return `${Math.max(0, (end - Date.parse(from)) / 1000).toFixed(1)}s`;
}

function formatValue(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude < 1e-4 || magnitude >= 1e6) return value.toExponential(3);
  const text = value.toPrecision(4);
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

export function describeJob(job: JobView, metrics: RunMetrics): string {
  const lines = [
    `job ${job.id}  (${job.name}, experiment ${job.experiment})`,
    `  state:     ${job.state}${job.reason ? ` — ${job.reason}` : ''}`,
    `  target:    ${job.compute}${job.compute === job.targetKind ? '' : ` (${job.targetKind})`}, ${job.instanceCount} process${job.instanceCount === 1 ? '' : 'es'}`,
    `  command:   ${job.command}`,
    `  created:   ${job.createdAt}`,
    `  started:   ${job.startedAt ?? '-'}`,
    `  ended:     ${job.endedAt ?? '-'}  (${seconds(job.startedAt, job.endedAt)})`,
    `  exit code: ${job.exitCode ?? '-'}`,
  ];
  if (job.code !== undefined) {
    const git = job.code.git;
    lines.push(
      `  code:      ${job.code.files} files, sha256 ${job.code.sha256.slice(0, 12)}` +
        (git === undefined
          ? ', not in git'
          : `, git ${git.commit.slice(0, 12)}${git.dirty ? ' (dirty)' : ''}`),
    );
  }
  for (const [name, input] of Object.entries(job.inputs))
    lines.push(`  input:     ${name} = ${input.kind === 'path' ? input.path : input.value}`);
  if (job.outputs.length > 0)
    lines.push(`  outputs:   ${job.outputs.map((name) => `outputs/${name}`).join(', ')}`);
  if (job.attempts.length > 1 || job.attempts.some((a) => a.reason !== undefined)) {
    for (const attempt of job.attempts) {
      lines.push(
        `  attempt ${attempt.attempt}: ${attempt.where}, exit ${attempt.exitCode ?? '-'}${attempt.reason ? ` — ${attempt.reason}` : ''}`,
      );
    }
  }
  if (metrics.series.length > 0) {
    lines.push('  metrics:');
    const width = Math.max(...metrics.series.map((series) => series.key.length));
    for (const series of metrics.series) {
      const chart = sparkline(series.points.map((point) => point.value));
      lines.push(
        `    ${series.key.padEnd(width)}  ${formatValue(series.last).padStart(10)}  ${chart}  ` +
          `(${series.points.length} values, min ${formatValue(series.min)}, max ${formatValue(series.max)})`,
      );
    }
  }
  for (const table of job.tables) {
    const columns = table.columns.length > 8 ? [...table.columns.slice(0, 8), '…'] : table.columns;
    lines.push(
      `  table:     ${table.name}  ${table.rows} row${table.rows === 1 ? '' : 's'}  (${columns.join(', ')})` +
        (table.skipped > 0 ? `, ${table.skipped} lines skipped` : ''),
    );
  }
  for (const image of job.images) lines.push(`  image:     images/${image.file}  (${image.bytes} bytes)`);
  if (metrics.skipped > 0)
    lines.push(`  (${metrics.skipped} metric lines were not metrics and were skipped)`);
  return `${lines.join('\n')}\n`;
}
