/**
 * A JSON-lines logger on stderr, shared by the engine and by scoring scripts (`ctx.logger`).
 * stdout is left alone because a CLI or a function host may use it for its own output; one JSON
 * object per line keeps log collectors (Docker, Kubernetes, CloudWatch) able to parse the stream.
 */
import { threadId } from 'node:worker_threads';

export type LogLevel = 'info' | 'warn' | 'error';

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export function createLogger(source: string): Logger {
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    const line = { time: new Date().toISOString(), level, source, thread: threadId, message, ...fields };
    process.stderr.write(`${safeStringify(line)}\n`);
  };
  return {
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}

/** A user's fields may hold BigInts or cycles; a log line must never throw. */
function safeStringify(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'bigint') return item.toString();
    if (item instanceof Error) return { name: item.name, message: item.message };
    if (typeof item === 'object' && item !== null) {
      if (seen.has(item)) return '[circular]';
      seen.add(item);
    }
    return item;
  });
}
