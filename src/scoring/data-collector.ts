/**
 * Opt-in data collection: a sampled share of requests has its inputs and outputs written as JSON
 * lines to rotating files. A request never waits for the disk: records are queued in memory and
 * written by one background loop; when the queue holds more than `maxPendingBytes`, new records
 * are dropped and counted instead.
 */
import { mkdir, open, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { TensorValue } from './engine.js';
import { flatJsonText } from './protocols/tensor-json.js';

export interface DataCollectionOptions {
  dir: string;
  samplingRate: number;
  maxFileBytes: number;
  maxFiles: number;
  maxPendingBytes: number;
}

export interface CollectedRequest {
  id: string;
  model: string;
  version: string;
  /**
   * The inputs as `tensorsText` wrote them before the request went to the engine, which takes
   * ownership of input buffers (they may be detached afterwards).
   */
  inputsText: string;
  outputs: Record<string, TensorValue>;
  /** A scoring script's answer as one line of JSON text, written instead of `outputs`. */
  outputsText?: string;
}

export interface DataCollector {
  /** True when this request should be captured (decided by the sampling rate). */
  sample(): boolean;
  capture(record: CollectedRequest): void;
  readonly written: number;
  readonly dropped: number;
  /** Writes what is queued, then closes the current file. */
  close(): Promise<void>;
}

const FILE_PREFIX = 'data-';

/**
 * A scoring script's request or answer as one line of JSON: the JSON value itself when the body is
 * JSON, else the text as a JSON string, or `{"base64": …}` for bytes that are not UTF-8 text.
 */
export function bodyText(body: Uint8Array | string, json: boolean): string {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  if (json) {
    try {
      return JSON.stringify(JSON.parse(text) as unknown) ?? 'null';
    } catch {
      // Not JSON after all: kept as text below.
    }
  }
  if (typeof body !== 'string' && Buffer.from(text, 'utf8').compare(Buffer.from(body)) !== 0) {
    return JSON.stringify({ base64: Buffer.from(body).toString('base64') });
  }
  return JSON.stringify(text);
}

/** JSON text of named tensors: `{"name": {"datatype", "shape", "data"}}`. */
export function tensorsText(tensors: Record<string, TensorValue>): string {
  let text = '{';
  let first = true;
  for (const [name, value] of Object.entries(tensors)) {
    text += `${first ? '' : ','}${JSON.stringify(name)}:{"datatype":"${value.datatype}","shape":[${value.shape.join(',')}],"data":${flatJsonText(value)}}`;
    first = false;
  }
  return `${text}}`;
}

export function createDataCollector(
  options: DataCollectionOptions,
  events: { onDrop?: () => void; onWritten?: () => void; onError?: (error: unknown) => void } = {},
): DataCollector {
  let pending: string[] = [];
  let pendingBytes = 0;
  let written = 0;
  let dropped = 0;
  let file: FileHandle | undefined;
  let fileBytes = 0;
  let sequence = 0;
  let writing: Promise<void> | undefined;
  let closed = false;

  const openNext = async (): Promise<void> => {
    await mkdir(options.dir, { recursive: true });
    const name = `${FILE_PREFIX}${Date.now()}-${String(sequence++).padStart(6, '0')}.jsonl`;
    file = await open(join(options.dir, name), 'a');
    fileBytes = 0;
    const files = (await readdir(options.dir))
      .filter((entry) => entry.startsWith(FILE_PREFIX) && entry.endsWith('.jsonl'))
      .sort();
    for (const old of files.slice(0, Math.max(0, files.length - options.maxFiles))) {
      await unlink(join(options.dir, old)).catch(() => undefined);
    }
  };

  const drain = async (): Promise<void> => {
    while (pending.length > 0) {
      const lines = pending;
      const count = lines.length;
      pending = [];
      const text = lines.join('');
      if (file === undefined || fileBytes >= options.maxFileBytes) {
        await file?.close();
        file = undefined;
        await openNext();
      }
      const bytes = Buffer.from(text, 'utf8');
      await file!.write(bytes);
      fileBytes += bytes.length;
      pendingBytes -= text.length;
      written += count;
      for (let i = 0; i < count; i++) events.onWritten?.();
    }
  };

  const kick = (): void => {
    if (writing !== undefined) return;
    writing = drain()
      .catch((error: unknown) => {
        dropped += pending.length;
        pending = [];
        pendingBytes = 0;
        events.onError?.(error);
      })
      .finally(() => {
        writing = undefined;
        if (pending.length > 0 && !closed) kick();
      });
  };

  return {
    sample: () =>
      options.samplingRate >= 1 || (options.samplingRate > 0 && Math.random() < options.samplingRate),
    capture(record) {
      if (closed || pendingBytes >= options.maxPendingBytes) {
        dropped++;
        events.onDrop?.();
        return;
      }
      const line =
        `{"time":"${new Date().toISOString()}","id":${JSON.stringify(record.id)},"model":${JSON.stringify(record.model)},` +
        `"version":${JSON.stringify(record.version)},"inputs":${record.inputsText},"outputs":${record.outputsText ?? tensorsText(record.outputs)}}\n`;
      pending.push(line);
      pendingBytes += line.length;
      kick();
    },
    get written() {
      return written;
    },
    get dropped() {
      return dropped;
    },
    async close() {
      closed = true;
      while (writing !== undefined) await writing;
      if (pending.length > 0) await drain();
      await file?.close();
      file = undefined;
    },
  };
}
