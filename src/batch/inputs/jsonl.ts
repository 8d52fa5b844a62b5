/**
 * JSON Lines sources: one JSON object per line; blank lines are not rows. Planned by scanning
 * newline bytes (a line's JSON is not parsed until a worker reads it, so a bad line fails alone,
 * as an item, instead of failing the plan), read back by byte slice.
 */
import { createReadStream } from 'node:fs';
import { BerthError } from '../../core/errors.js';
import { RowChunker } from './tabular.js';
import type { ReadRow } from './tabular.js';

/** Calls `onLine(start, end)` for each non-blank line; `end` includes the newline. */
async function scanLines(
  path: string,
  range: { start: number; end: number } | undefined,
  onLine: (start: number, end: number, bytes: Buffer) => void,
): Promise<void> {
  const base = range?.start ?? 0;
  const source = createReadStream(path, range ? { start: range.start, end: range.end - 1 } : {});
  let pending: Buffer[] = [];
  let lineStart = base;
  let offset = base;
  const emit = (end: number): void => {
    const bytes = Buffer.concat(pending);
    pending = [];
    if (bytes.toString('utf8').trim() !== '') onLine(lineStart, end, bytes);
    lineStart = end;
  };
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      let from = 0;
      for (let newline = chunk.indexOf(10); newline >= 0; newline = chunk.indexOf(10, from)) {
        pending.push(chunk.subarray(from, newline + 1));
        emit(offset + newline + 1);
        from = newline + 1;
      }
      pending.push(chunk.subarray(from));
      offset += chunk.length;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BerthError('PATH_UNREADABLE', `cannot read ${path}: ${code ?? (error as Error).message}`);
  }
  if (offset > lineStart) emit(offset);
}

export async function planJsonl(
  path: string,
  maxBytes: number,
): Promise<{ firstRow: number; rowCount: number; byteRange: { start: number; end: number } }[]> {
  const chunker = new RowChunker(maxBytes);
  await scanLines(path, undefined, (start, end) => chunker.add(start, end));
  return chunker.finish().map((chunk) => ({
    firstRow: chunk.firstRow,
    rowCount: chunk.rowCount,
    byteRange: { start: chunk.start, end: chunk.end },
  }));
}

export async function readJsonlRows(
  path: string,
  firstRow: number,
  rowCount: number,
  byteRange: { start: number; end: number } | undefined,
): Promise<ReadRow[]> {
  const rows: ReadRow[] = [];
  let index = byteRange ? firstRow : 0;
  await scanLines(path, byteRange, (_start, _end, bytes) => {
    const row = index++;
    if (row < firstRow || row >= firstRow + rowCount) return;
    try {
      const value: unknown = JSON.parse(bytes.toString('utf8'));
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        rows.push({ row, error: 'line is not a JSON object' });
      } else rows.push({ row, value: value as Record<string, unknown> });
    } catch (error) {
      rows.push({ row, error: `invalid JSON: ${(error as Error).message}` });
    }
  });
  if (rows.length !== rowCount) {
    throw new BerthError(
      'BAD_INPUT',
      `${path}: expected ${rowCount} rows from row ${firstRow}, found ${rows.length}: did the file change since the job was planned?`,
    );
  }
  return rows;
}
