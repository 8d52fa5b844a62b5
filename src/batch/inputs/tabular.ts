/** Which files are tabular, and the row shape every tabular reader produces. */
import { extname } from 'node:path';

export type TabularFormat = 'csv' | 'jsonl' | 'parquet';

export function tabularFormatOf(path: string): TabularFormat | undefined {
  const extension = extname(path).toLowerCase();
  if (extension === '.csv') return 'csv';
  if (extension === '.jsonl' || extension === '.ndjson') return 'jsonl';
  if (extension === '.parquet') return 'parquet';
  return undefined;
}

/** One row as a reader found it: its 0-based index in the source (header excluded), and its value or why it has none. */
export type ReadRow = { row: number; value: Record<string, unknown> } | { row: number; error: string };

/**
 * Cuts a source into mini-batches as rows stream past: a batch closes once it holds `maxBytes`
 * (a row larger than that still gets a batch of its own, so no row is ever split or lost).
 */
export class RowChunker {
  private readonly chunks: { firstRow: number; rowCount: number; start: number; end: number }[] = [];
  private current: { firstRow: number; rowCount: number; start: number; end: number } | undefined;
  private rows = 0;

  constructor(private readonly maxBytes: number) {}

  add(start: number, end: number): void {
    const current = this.current ?? { firstRow: this.rows, rowCount: 0, start, end: start };
    current.rowCount += 1;
    current.end = end;
    this.rows += 1;
    this.current = current;
    if (current.end - current.start >= this.maxBytes) this.close();
  }

  finish(): { firstRow: number; rowCount: number; start: number; end: number }[] {
    this.close();
    return this.chunks;
  }

  private close(): void {
    if (this.current !== undefined) this.chunks.push(this.current);
    this.current = undefined;
  }
}

/** CSV fields that look like numbers become numbers and empty ones null, as pandas' read_csv does. */
export function castCsvField(value: string): unknown {
  if (value === '') return null;
  if (/^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(value)) return Number(value);
  return value;
}

/** Parquet INT64 arrives as BigInt, which JSON cannot carry; small ones become numbers, others strings. */
export function normalizeValue(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(normalizeValue);
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, normalizeValue(inner)]));
  }
  return value;
}
