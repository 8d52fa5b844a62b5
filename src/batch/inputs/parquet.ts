/**
 * Parquet sources: planned from the footer alone (row count and uncompressed size give an average
 * row size, so a mini-batch of ~N bytes is a number of rows), read back by row range.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { BerthError } from '../../core/errors.js';
import { normalizeValue } from './tabular.js';
import type { ReadRow } from './tabular.js';

async function open(path: string): ReturnType<typeof asyncBufferFromFile> {
  try {
    return await asyncBufferFromFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BerthError('PATH_UNREADABLE', `cannot read ${path}: ${code ?? (error as Error).message}`);
  }
}

export async function planParquet(
  path: string,
  maxBytes: number,
): Promise<{ firstRow: number; rowCount: number }[]> {
  const file = await open(path);
  let rows: number;
  let bytes: number;
  try {
    const metadata = await parquetMetadataAsync(file);
    rows = Number(metadata.num_rows);
    bytes = metadata.row_groups.reduce((sum, group) => sum + Number(group.total_byte_size), 0);
  } catch (error) {
    throw new BerthError('BAD_INPUT', `${path} is not a readable Parquet file: ${(error as Error).message}`);
  }
  if (rows === 0) return [];
  const perBatch = Math.max(1, Math.floor(maxBytes / Math.max(1, bytes / rows)));
  const chunks: { firstRow: number; rowCount: number }[] = [];
  for (let first = 0; first < rows; first += perBatch) {
    chunks.push({ firstRow: first, rowCount: Math.min(perBatch, rows - first) });
  }
  return chunks;
}

export async function readParquetRows(path: string, firstRow: number, rowCount: number): Promise<ReadRow[]> {
  const file = await open(path);
  const objects = await parquetReadObjects({ file, rowStart: firstRow, rowEnd: firstRow + rowCount });
  if (objects.length !== rowCount) {
    throw new BerthError(
      'BAD_INPUT',
      `${path}: expected ${rowCount} rows from row ${firstRow}, found ${objects.length}`,
    );
  }
  return objects.map((object, i) => ({
    row: firstRow + i,
    value: normalizeValue({ ...object }) as Record<string, unknown>,
  }));
}
