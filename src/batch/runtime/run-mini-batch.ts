/**
 * One attempt at one mini-batch, inside a worker, whatever the engine: read the items (each
 * unreadable file or bad row fails alone and is left out of `run`), call the program, and match
 * its answer to the items. A cluster worker calls this too, so every engine treats items alike.
 */
import { open } from 'node:fs/promises';
import { BerthError, hasErrorCode } from '../../core/errors.js';
import type { MiniBatchOutcome, MiniBatchTask, ResultRow } from '../engine.js';
import { readCsvRows } from '../inputs/csv.js';
import { readJsonlRows } from '../inputs/jsonl.js';
import { readParquetRows } from '../inputs/parquet.js';
import type { ReadRow } from '../inputs/tabular.js';
import { normalizeValue } from '../inputs/tabular.js';
import { rowKey } from '../plan.js';
import type { BatchProgram, ItemsForRun } from './program.js';

type Failed = { key: string; error: string };

export async function runMiniBatch(
  program: BatchProgram,
  task: MiniBatchTask,
  worker: string,
): Promise<MiniBatchOutcome> {
  const started = Date.now();
  const { plan } = task;
  const base = { index: plan.index, attempt: task.attempt, worker };
  try {
    const { items, failed } = await readItems(task, program.readsFiles);
    let rows: ResultRow[] = [];
    if (items.keys.length > 0) {
      const answer = await program.run(items, { index: plan.index, attempt: task.attempt });
      rows = matchResults(items.keys, answer.value, answer.itemErrors, failed);
    }
    // Failed items come back in input order, like the rows.
    const order = new Map(allKeys(task).map((key, i) => [key, i]));
    failed.sort((a, b) => (order.get(a.key) ?? 0) - (order.get(b.key) ?? 0));
    return {
      ...base,
      durationMs: Date.now() - started,
      status: 'succeeded',
      rows,
      failedItems: failed,
      error: undefined,
    };
  } catch (error) {
    const code = hasErrorCode(error) ? error.code : 'RUN_FAILED';
    const message = error instanceof Error ? error.message : String(error);
    return {
      ...base,
      durationMs: Date.now() - started,
      status: 'failed',
      rows: [],
      failedItems: [],
      error: { code, message, phase: 'run' },
    };
  }
}

function allKeys(task: MiniBatchTask): string[] {
  const { plan } = task;
  if (plan.kind === 'files') return plan.paths;
  return Array.from({ length: plan.rowCount }, (_, i) => rowKey(plan.source, plan.firstRow + i));
}

async function readItems(
  task: MiniBatchTask,
  programReadsFiles: boolean,
): Promise<{ items: ItemsForRun; failed: Failed[] }> {
  const { plan } = task;
  const failed: Failed[] = [];
  if (plan.kind === 'files') {
    if (programReadsFiles)
      return { items: { kind: 'files', keys: [...plan.paths], paths: [...plan.paths] }, failed };
    const problems = await checkAll(plan.paths);
    const paths: string[] = [];
    plan.paths.forEach((path, i) => {
      const problem = problems[i];
      if (problem === undefined) paths.push(path);
      else failed.push({ key: path, error: problem });
    });
    return { items: { kind: 'files', keys: [...paths], paths }, failed };
  }
  let read: ReadRow[];
  if (plan.format === 'csv')
    read = await readCsvRows(plan.source, plan.firstRow, plan.rowCount, plan.byteRange);
  else if (plan.format === 'jsonl')
    read = await readJsonlRows(plan.source, plan.firstRow, plan.rowCount, plan.byteRange);
  else read = await readParquetRows(plan.source, plan.firstRow, plan.rowCount);
  const keys: string[] = [];
  const rows: Record<string, unknown>[] = [];
  for (const entry of read) {
    const key = rowKey(plan.source, entry.row);
    if ('error' in entry) failed.push({ key, error: entry.error });
    else {
      keys.push(key);
      rows.push(entry.value);
    }
  }
  return { items: { kind: 'rows', keys, rows }, failed };
}

/**
 * Checks files several at a time: one after another, each check's latency would add up while the
 * core idles; all at once, a mini-batch of thousands of files could run out of file descriptors.
 */
async function checkAll(paths: string[]): Promise<(string | undefined)[]> {
  const problems: (string | undefined)[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < paths.length; i = next++) problems[i] = await unreadable(paths[i] ?? '');
  };
  await Promise.all(Array.from({ length: Math.min(checksAtOnce, paths.length) }, lane));
  return problems;
}

const checksAtOnce = 16;

async function unreadable(path: string): Promise<string | undefined> {
  try {
    const handle = await open(path, 'r');
    try {
      if (!(await handle.stat()).isFile()) return 'not a regular file';
      // Opening succeeds on some unreadable files (e.g. EISDIR comes only on read): read one byte.
      await handle.read(Buffer.alloc(1), 0, 1, 0);
    } finally {
      await handle.close();
    }
    return undefined;
  } catch (error) {
    return `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
}

/** Applies the script contract: an array aligned with the items, or an object / Map keyed by item key. */
function matchResults(
  keys: string[],
  value: unknown,
  itemErrors: Map<string, string>,
  failed: Failed[],
): ResultRow[] {
  let lookup: (key: string, index: number) => unknown;
  if (Array.isArray(value)) {
    if (value.length !== keys.length) {
      throw new BerthError(
        'RUN_FAILED',
        `run() returned ${value.length} results for ${keys.length} items: return one per item (undefined for a failed one), or an object keyed by ctx.miniBatch.keys`,
      );
    }
    lookup = (_key, index) => value[index];
  } else if (value instanceof Map) lookup = (key) => value.get(key);
  else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    lookup = (key) => (Object.hasOwn(record, key) ? record[key] : undefined);
  } else {
    throw new BerthError(
      'RUN_FAILED',
      `run() returned ${value === null ? 'null' : typeof value}: return an array with one result per item, or an object keyed by item`,
    );
  }
  const rows: ResultRow[] = [];
  keys.forEach((key, index) => {
    const reason = itemErrors.get(key);
    if (reason !== undefined) return void failed.push({ key, error: reason });
    const result = lookup(key, index);
    if (result === undefined)
      return void failed.push({ key, error: 'run() returned no result for this item' });
    const safe = jsonSafe(result);
    if (safe === undefined) return void failed.push({ key, error: 'the result is not JSON-serialisable' });
    rows.push({ key, value: safe });
  });
  return rows;
}

/** A result as it will be stored: typed arrays become arrays, BigInts numbers (or strings when too big). */
function jsonSafe(value: unknown): unknown {
  try {
    const text = JSON.stringify(value, (_key, inner: unknown) => {
      if (typeof inner === 'bigint') return normalizeValue(inner);
      if (ArrayBuffer.isView(inner))
        return Array.from(inner as unknown as ArrayLike<number | bigint>, Number);
      return inner;
    });
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}
