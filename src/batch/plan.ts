/**
 * Planning: inputs and mini_batch_size in, a deterministic list of mini-batches out. File inputs
 * are cut by count; tabular inputs (CSV, JSON Lines, Parquet) by approximate bytes, never across a
 * file boundary, in sorted file order and row order. The plan is stored with the job, so `resume`
 * runs exactly the mini-batches the first run planned.
 */
import { relative, sep } from 'node:path';
import { BerthError } from '../core/errors.js';
import { requireByteSize } from './definition/size.js';
import type { MiniBatchPlan } from './engine.js';
import { planCsv } from './inputs/csv.js';
import { planJsonl } from './inputs/jsonl.js';
import { listInputFiles } from './inputs/list-files.js';
import { planParquet } from './inputs/parquet.js';
import { tabularFormatOf } from './inputs/tabular.js';

export type InputType = 'files' | 'tabular';

export interface JobPlan {
  inputType: InputType;
  /** Keys in the output are relative to this folder. */
  root: string;
  /** Files: a count; tabular: bytes. */
  miniBatchSize: number;
  miniBatches: MiniBatchPlan[];
  /** Items in each mini-batch, by index. */
  itemCounts: number[];
  totalItems: number;
  /** Tabular sources with no rows: reported, never scored. */
  emptySources: string[];
}

export const defaultFilesPerBatch = 10;
export const defaultBatchBytes = 1024 * 1024;

export async function planJob(
  inputs: readonly string[],
  inputType: InputType | 'auto',
  miniBatchSize: number | string | undefined,
): Promise<JobPlan> {
  const { files, root } = await listInputFiles(inputs);
  const type =
    inputType !== 'auto' ? inputType : files.every((file) => tabularFormatOf(file)) ? 'tabular' : 'files';
  if (type === 'files') {
    if (typeof miniBatchSize === 'string') {
      throw new BerthError(
        'INVALID_SPEC',
        `mini_batch_size: ${JSON.stringify(miniBatchSize)} is a size, which only tabular input takes; give a number of files`,
      );
    }
    const size = miniBatchSize ?? defaultFilesPerBatch;
    const miniBatches: MiniBatchPlan[] = [];
    for (let first = 0; first < files.length; first += size) {
      miniBatches.push({ index: miniBatches.length, kind: 'files', paths: files.slice(first, first + size) });
    }
    return finish(type, root, size, miniBatches, []);
  }

  // ParallelRunStep reads a bare number as bytes for tabular input.
  const bytes =
    miniBatchSize === undefined
      ? defaultBatchBytes
      : typeof miniBatchSize === 'number'
        ? miniBatchSize
        : requireByteSize(miniBatchSize, 'mini_batch_size');
  const miniBatches: MiniBatchPlan[] = [];
  const emptySources: string[] = [];
  for (const source of files) {
    const format = tabularFormatOf(source);
    if (format === undefined) {
      throw new BerthError(
        'BAD_INPUT',
        `${source} is not CSV, JSON Lines or Parquet (.csv, .jsonl, .ndjson, .parquet)`,
      );
    }
    const chunks: { firstRow: number; rowCount: number; byteRange?: { start: number; end: number } }[] =
      format === 'csv'
        ? await planCsv(source, bytes)
        : format === 'jsonl'
          ? await planJsonl(source, bytes)
          : await planParquet(source, bytes);
    if (chunks.length === 0) emptySources.push(source);
    for (const chunk of chunks) {
      const byteRange = chunk.byteRange;
      miniBatches.push({
        index: miniBatches.length,
        kind: 'rows',
        source,
        format,
        firstRow: chunk.firstRow,
        rowCount: chunk.rowCount,
        ...(byteRange === undefined ? {} : { byteRange }),
      });
    }
  }
  return finish(type, root, bytes, miniBatches, emptySources);
}

function finish(
  inputType: InputType,
  root: string,
  miniBatchSize: number,
  miniBatches: MiniBatchPlan[],
  emptySources: string[],
): JobPlan {
  const itemCounts = miniBatches.map(itemCount);
  return {
    inputType,
    root,
    miniBatchSize,
    miniBatches,
    itemCounts,
    totalItems: itemCounts.reduce((sum, count) => sum + count, 0),
    emptySources,
  };
}

export function itemCount(plan: MiniBatchPlan): number {
  return plan.kind === 'files' ? plan.paths.length : plan.rowCount;
}

/** The keys of a mini-batch's items, in order, as workers report them. */
export function itemKeys(plan: MiniBatchPlan): string[] {
  if (plan.kind === 'files') return [...plan.paths];
  return Array.from({ length: plan.rowCount }, (_, i) => rowKey(plan.source, plan.firstRow + i));
}

/** A row's key: its source and its 0-based row index (header excluded), e.g. `data.csv#41`. */
export function rowKey(source: string, row: number): string {
  return `${source}#${row}`;
}

/** A worker's key (absolute path, maybe `#row`) as the output shows it: relative to the input root. */
export function displayKey(key: string, root: string): string {
  const match = /^(.*?)(#\d+)?$/s.exec(key);
  const path = match?.[1] ?? key;
  const row = match?.[2] ?? '';
  const relativePath = relative(root, path);
  return `${relativePath === '' || relativePath.startsWith('..') ? path : relativePath.split(sep).join('/')}${row}`;
}
