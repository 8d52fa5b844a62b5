import type { ModelVersion } from '../core/model.js';
import type { TensorSpec } from '../core/tensor.js';

/** Where commands write; tests pass their own to capture output. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A plain aligned table: header row, then one row per item. */
export function printTable(io: CliIo, header: string[], rows: string[][]): void {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  io.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function formatTensor(spec: TensorSpec): string {
  return `${spec.name}  ${spec.datatype}  [${spec.shape.join(', ')}]`;
}

export function formatTags(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

export function describeModel(model: ModelVersion): string {
  const lines = [
    `${model.name}:${model.version}  (${model.framework})`,
    `  description: ${model.description || '-'}`,
    `  tags:        ${formatTags(model.tags) || '-'}`,
    `  created:     ${model.createdAt}`,
    `  artifact:    ${model.artifact.kind} ${model.artifact.fileName}, ${formatBytes(model.artifact.size)}`,
    `  sha256:      ${model.artifact.sha256}`,
  ];
  if (model.modelFile) lines.push(`  model file:  ${model.modelFile}`);
  const signature = model.signature;
  if (signature) {
    lines.push(`  opset:       ${signature.opset ?? '-'}`);
    lines.push(`  producer:    ${signature.producer ?? '-'}`);
    lines.push('  inputs:');
    for (const input of signature.inputs) lines.push(`    ${formatTensor(input)}`);
    lines.push('  outputs:');
    for (const output of signature.outputs) lines.push(`    ${formatTensor(output)}`);
  }
  return `${lines.join('\n')}\n`;
}
