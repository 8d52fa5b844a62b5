/**
 * Structured logs: one JSON object per line on stdout. Lines are gathered and written once per
 * event-loop turn, so a busy server makes one write call for many requests. Request lines are
 * `info`; a server started from a terminal is quiet unless asked (see options.ts, logLevel).
 */
import type { LogLevel } from './options.js';

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface RequestLogEntry {
  id: string;
  method: string;
  route: string;
  status: number;
  duration_ms: number;
  model?: string | undefined;
  batch_size?: number | undefined;
  error?: string | undefined;
}

export interface Logger {
  readonly level: LogLevel;
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
  request(entry: RequestLogEntry): void;
  log(level: Exclude<LogLevel, 'silent'>, event: string, fields?: Record<string, unknown>): void;
  /** Writes what is gathered now (on shutdown). */
  flush(): void;
}

export interface LogSink {
  write(text: string): unknown;
}

export function createLogger(level: LogLevel, sink: LogSink = process.stdout): Logger {
  let pending = '';
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    sink.write(text);
  };
  const emit = (line: string): void => {
    pending += `${line}\n`;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  const enabled = (wanted: Exclude<LogLevel, 'silent'>): boolean => rank[wanted] >= rank[level];
  return {
    level,
    enabled,
    request(entry) {
      if (rank.info < rank[level]) return;
      emit(JSON.stringify({ time: new Date().toISOString(), level: 'info', event: 'request', ...entry }));
    },
    log(wanted, event, fields) {
      if (!enabled(wanted)) return;
      emit(JSON.stringify({ time: new Date().toISOString(), level: wanted, event, ...fields }));
    },
    flush,
  };
}
