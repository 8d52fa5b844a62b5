/**
 * The logger a scoring script gets as `ctx.logger`, inside a worker. Lines go to stderr as
 * `LEVEL message {fields}`; the engine collects the worker's output into its log file and stamps
 * each line with the time it arrived. Levels below `logging_level` are dropped here, at the source.
 */
import type { LoggingLevel } from '../definition/resolve.js';

export interface BatchLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const rank: Record<LoggingLevel, number> = { debug: 0, info: 1, warning: 2, error: 3 };

export function createBatchLogger(
  level: LoggingLevel,
  write: (line: string) => void = (line) => process.stderr.write(line),
): BatchLogger {
  const at =
    (name: LoggingLevel, label: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (rank[name] < rank[level]) return;
      let suffix = '';
      if (fields !== undefined) {
        try {
          suffix = ` ${JSON.stringify(fields, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))}`;
        } catch {
          suffix = ' [fields not serialisable]';
        }
      }
      write(`${label} ${message}${suffix}\n`);
    };
  return {
    debug: at('debug', 'DEBUG'),
    info: at('info', 'INFO'),
    warn: at('warning', 'WARN'),
    error: at('error', 'ERROR'),
  };
}
