/**
 * CSV sources: planned by streaming the file once (row boundaries in bytes), read back by byte
 * slice. The first record is the header. A row with the wrong number of fields is still a row (it
 * fails alone, later); a record csv-parse must skip (a broken quote) is a row with an error, and
 * makes the file "unclean": its mini-batches then carry no byte range and are read by counting
 * rows from the start, because byte positions after a skipped record cannot be trusted.
 */
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import type { Options } from 'csv-parse';
import { BerthError } from '../../core/errors.js';
import { castCsvField, RowChunker } from './tabular.js';
import type { ReadRow } from './tabular.js';

interface Record {
  record: string[];
  info: { bytes: number };
}

const baseOptions: Options = {
  bom: true,
  info: true,
  relax_column_count: true,
  skip_empty_lines: true,
  skip_records_with_error: true,
};

export interface CsvChunk {
  firstRow: number;
  rowCount: number;
  byteRange: { start: number; end: number } | undefined;
}

export async function planCsv(path: string, maxBytes: number): Promise<CsvChunk[]> {
  const chunker = new RowChunker(maxBytes);
  let clean = true;
  let previousEnd = -1;
  await streamRecords(path, undefined, {
    onRecord: (entry) => {
      // The first record is the header: rows start where it ends.
      if (previousEnd >= 0) chunker.add(previousEnd, entry.info.bytes);
      previousEnd = entry.info.bytes;
    },
    onSkip: () => {
      clean = false;
      chunker.add(previousEnd, previousEnd);
    },
  });
  return chunker.finish().map((chunk) => ({
    firstRow: chunk.firstRow,
    rowCount: chunk.rowCount,
    byteRange: clean ? { start: chunk.start, end: chunk.end } : undefined,
  }));
}

export async function readCsvRows(
  path: string,
  firstRow: number,
  rowCount: number,
  byteRange: { start: number; end: number } | undefined,
): Promise<ReadRow[]> {
  const rows: ReadRow[] = [];
  let header: string[] | undefined;
  const toRow = (record: string[], row: number): ReadRow => {
    const columns = header ?? [];
    if (record.length !== columns.length) {
      return { row, error: `row has ${record.length} fields, the header has ${columns.length}` };
    }
    return {
      row,
      value: Object.fromEntries(columns.map((name, i) => [name, castCsvField(record[i] ?? '')])),
    };
  };
  if (byteRange !== undefined) {
    header = await readHeader(path);
    let row = firstRow;
    await streamRecords(path, byteRange, {
      onRecord: (entry) => {
        rows.push(toRow(entry.record, row++));
      },
      onSkip: (message) => {
        rows.push({ row: row++, error: message });
      },
    });
  } else {
    let row = -1;
    const want = (index: number): boolean => index >= firstRow && index < firstRow + rowCount;
    await streamRecords(path, undefined, {
      onRecord: (entry) => {
        if (row === -1) header = entry.record;
        else if (want(row)) rows.push(toRow(entry.record, row));
        row += 1;
        return row < firstRow + rowCount;
      },
      onSkip: (message) => {
        if (want(row)) rows.push({ row, error: message });
        row += 1;
      },
    });
  }
  if (rows.length !== rowCount) {
    throw new BerthError(
      'BAD_INPUT',
      `${path}: expected ${rowCount} rows from row ${firstRow}, found ${rows.length}: did the file change since the job was planned?`,
    );
  }
  return rows;
}

async function readHeader(path: string): Promise<string[]> {
  let header: string[] = [];
  await streamRecords(path, undefined, {
    onRecord: (entry) => {
      header = entry.record;
      return false;
    },
    onSkip: () => undefined,
  });
  return header;
}

/**
 * `onRecord` returning false stops reading early. Records and skips are taken from csv-parse's
 * synchronous callbacks (on_record, on_skip), not from the stream's output, because the stream
 * buffers records while skips are reported at once: only the callbacks keep their true order.
 */
async function streamRecords(
  path: string,
  byteRange: { start: number; end: number } | undefined,
  handlers: { onRecord: (entry: Record) => boolean | void; onSkip: (message: string) => void },
): Promise<void> {
  const source = createReadStream(path, byteRange ? { start: byteRange.start, end: byteRange.end - 1 } : {});
  let stopped = false;
  const parser = parse({
    ...baseOptions,
    info: false,
    on_record: (record: string[], context: { bytes: number }) => {
      if (!stopped && handlers.onRecord({ record, info: { bytes: context.bytes } }) === false) stopped = true;
      return null;
    },
    on_skip: (error) => {
      if (!stopped) handlers.onSkip(`malformed CSV record: ${error?.message ?? 'skipped'}`);
      return undefined;
    },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      source.on('error', reject);
      parser.on('error', reject);
      parser.on('end', resolve);
      // Stopping early: the source is closed and the parser ends with what it has.
      source.on('data', () => {
        if (stopped) {
          source.destroy();
          resolve();
        }
      });
      parser.resume();
      source.pipe(parser);
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BerthError('PATH_UNREADABLE', `cannot read ${path}: ${code ?? (error as Error).message}`);
  } finally {
    source.destroy();
    parser.destroy();
  }
}
