/**
 * The job's output, merged from `results/<i>.json` in mini-batch order (then item order), so it is
 * the same whichever worker finished first and however often the job was resumed:
 *
 * - `append_row`: `<output>/<output_file_name>`, a CSV with a `key` column (the file, relative to
 *   the input folder, or `file#row` for tabular input) and the result's columns: an object result
 *   gives one column per property (the union over all results, in first-seen order); any other
 *   result goes into one `result` column. Strings are written as they are; other non-scalar values as JSON.
 * - always: `<output>/job-report.json`, every mini-batch's final outcome and every failed item.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobFolder } from './job/folder.js';
import type { JobRecord, ReportLine, StoredStatus } from './job/records.js';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text =
    typeof value === 'string'
      ? value
      : typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint'
        ? String(value)
        : JSON.stringify(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export async function writePredictions(folder: JobFolder, record: JobRecord): Promise<string> {
  const count = record.plan.miniBatches.length;
  const columns: string[] = [];
  const seen = new Set<string>();
  const addColumn = (name: string): void => {
    if (!seen.has(name)) {
      seen.add(name);
      columns.push(name);
    }
  };
  for (let index = 0; index < count; index += 1) {
    for (const row of (await folder.readResult(index))?.rows ?? []) {
      if (isPlainObject(row.value)) Object.keys(row.value).forEach(addColumn);
      else addColumn('result');
    }
  }
  await mkdir(record.outputDir, { recursive: true });
  const path = join(record.outputDir, record.deployment.outputFileName);
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const stream = createWriteStream(temp);
  const write = (text: string): Promise<void> =>
    new Promise((resolve, reject) => stream.write(text, (error) => (error ? reject(error) : resolve())));
  await write(`${['key', ...columns].map(cell).join(',')}\n`);
  for (let index = 0; index < count; index += 1) {
    const lines = ((await folder.readResult(index))?.rows ?? []).map((row) => {
      const values = isPlainObject(row.value)
        ? columns.map((column) => (row.value as Record<string, unknown>)[column])
        : columns.map((column) => (column === 'result' ? row.value : undefined));
      return `${[row.key, ...values].map(cell).join(',')}\n`;
    });
    if (lines.length > 0) await write(lines.join(''));
  }
  await new Promise<void>((resolve, reject) =>
    stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
  await rename(temp, path);
  return path;
}

export interface MiniBatchSummary {
  index: number;
  status: 'succeeded' | 'failed' | 'pending';
  attempts: number;
  worker: string | undefined;
  durationMs: number | undefined;
  items: number;
  error: { code: string; message: string } | undefined;
}

export async function summarizeMiniBatches(
  folder: JobFolder,
  record: JobRecord,
  report: ReportLine[],
): Promise<MiniBatchSummary[]> {
  const byIndex = new Map<number, ReportLine[]>();
  for (const line of report) byIndex.set(line.index, [...(byIndex.get(line.index) ?? []), line]);
  const results = await folder.resultIndexes();
  return record.plan.miniBatches.map((plan, index) => {
    const lines = byIndex.get(plan.index) ?? [];
    const kept = lines.find((line) => line.kept === true);
    const last = kept ?? lines[lines.length - 1];
    const status = results.has(plan.index) ? 'succeeded' : last?.status === 'failed' ? 'failed' : 'pending';
    return {
      index: plan.index,
      status,
      attempts: lines.length,
      worker: last?.worker,
      durationMs: last?.durationMs,
      items: record.plan.itemCounts[index] ?? 0,
      error: status === 'succeeded' ? undefined : last?.error,
    };
  });
}

export async function writeJobReport(
  folder: JobFolder,
  record: JobRecord,
  status: StoredStatus,
): Promise<string> {
  const report = await folder.readReport();
  const miniBatches = await summarizeMiniBatches(folder, record, report);
  const failedItems: { key: string; error: string; miniBatch: number }[] = [];
  for (const summary of miniBatches) {
    if (summary.status === 'succeeded') {
      for (const item of (await folder.readResult(summary.index))?.failedItems ?? [])
        failedItems.push({ ...item, miniBatch: summary.index });
    }
  }
  const body = {
    jobId: record.id,
    deployment: record.deployment.name,
    state: status.state,
    reason: status.reason,
    counts: status.counts,
    emptySources: record.plan.emptySources,
    failedItems,
    miniBatches,
  };
  await mkdir(record.outputDir, { recursive: true });
  const path = join(record.outputDir, 'job-report.json');
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(body, null, 2)}\n`);
  await rename(temp, path);
  return path;
}
