import type { Command } from 'commander';
import { resolve } from 'node:path';
import { BerthError } from '../../core/errors.js';
import { parseMemory } from '../../core/specs/quantities.js';
import { startGrpcServer } from '../../scoring/grpc/index.js';
import { describeMemoryLimit, MEMORY_LIMIT_ENV } from '../../scoring/memory-limit.js';
import { resolveScoringOptions, type ScoringOptions } from '../../scoring/options.js';
import { startScoringServer } from '../../scoring/server.js';
import { PYTHON_ENV } from '../../core/python-interpreter.js';
import type { ModelToServe } from '../../scoring/engine.js';
import type { CliContext } from '../context.js';
import { PRIMARY_KEY_ENV, SECONDARY_KEY_ENV, serveKeys, type ServeKeys } from './serve-keys.js';
import { modelsToServe, workspaceRepository } from './serve-models.js';

interface ServeFlags {
  port: string;
  host: string;
  grpcPort?: string;
  code?: string;
  scoringScript?: string;
  python?: string;
  workers?: string;
  intraOpThreads?: string;
  executionProvider: string[];
  batching?: boolean;
  maxBatchSize?: string;
  maxQueueDelayMs?: string;
  maxConcurrentRequests?: string;
  maxQueueSize?: string;
  requestTimeoutMs?: string;
  memoryLimit?: string;
  key: string[];
  keyFile?: string;
  collectDir?: string;
  samplingRate?: string;
  logLevel?: string;
  inline: string;
}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value))
    throw new BerthError('BAD_INPUT', `${flag} must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

function number(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) {
    throw new BerthError('BAD_INPUT', `${flag} must be a number, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function memorySize(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const bytes = parseMemory(value);
  if (bytes === undefined) {
    throw new BerthError(
      'BAD_INPUT',
      `--memory-limit must be a size such as 2Gi, 512Mi or 1073741824, got ${JSON.stringify(value)}`,
    );
  }
  return bytes;
}

/** Turns the flags into scoring options; the scoring server's own schema checks the values. */
export function scoringOptionsFromFlags(
  flags: ServeFlags,
  models: ModelToServe[],
  auth: ServeKeys['keys'],
): ScoringOptions {
  if (flags.code !== undefined && flags.scoringScript === undefined) {
    throw new BerthError('BAD_INPUT', '--code needs --scoring-script (the entry file inside it)');
  }
  const intraOpThreads = integer(flags.intraOpThreads, '--intra-op-threads');
  const maxBatchSize = integer(flags.maxBatchSize, '--max-batch-size');
  const maxQueueDelayMs = number(flags.maxQueueDelayMs, '--max-queue-delay-ms');
  return {
    port: integer(flags.port, '--port'),
    host: flags.host,
    grpcPort: integer(flags.grpcPort, '--grpc-port'),
    auth: auth ?? null,
    workers: integer(flags.workers, '--workers'),
    onnx: {
      ...(intraOpThreads === undefined ? {} : { intraOpThreads }),
      executionProviders:
        flags.executionProvider.length === 0 ? ['cpu'] : (flags.executionProvider as ('cpu' | 'cuda')[]),
    },
    batching: {
      enabled: flags.batching ?? false,
      ...(maxBatchSize === undefined ? {} : { maxBatchSize }),
      ...(maxQueueDelayMs === undefined ? {} : { maxQueueDelayMs }),
    },
    execution: { inline: flags.inline as 'auto' | 'always' | 'never' },
    maxConcurrentRequests: integer(flags.maxConcurrentRequests, '--max-concurrent-requests'),
    maxQueueSize: integer(flags.maxQueueSize, '--max-queue-size'),
    requestTimeoutMs: integer(flags.requestTimeoutMs, '--request-timeout-ms'),
    memoryLimitBytes: memorySize(flags.memoryLimit),
    dataCollection:
      flags.collectDir === undefined
        ? undefined
        : { dir: resolve(flags.collectDir), samplingRate: number(flags.samplingRate, '--sampling-rate') },
    logLevel: flags.logLevel as ScoringOptions['logLevel'],
    scoringScript:
      flags.scoringScript === undefined ? undefined : resolve(flags.code ?? '.', flags.scoringScript),
    python: flags.python,
    models,
    handleSignals: true,
    exitOnFatal: true,
  };
}

export function registerServeCommand(program: Command, context: CliContext): void {
  program
    .command('serve')
    .description(
      'serve registered models over HTTP (/score, Open Inference Protocol v2) and gRPC until stopped (SIGTERM drains)',
    )
    .argument('<models...>', 'NAME or NAME:VERSION, one or more')
    .option('--port <port>', 'HTTP port; 0 picks a free one', '5001')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--grpc-port <port>', 'also serve the v2 gRPC protocol on this port')
    .option('--code <dir>', 'folder holding the scoring script (default: the current folder)')
    .option(
      '--scoring-script <file>',
      'entry script: TS or JS exporting init(ctx) and run(input, ctx), or a Python score.py with init() and run(raw_data)',
    )
    .option(
      '--python <path>',
      `interpreter for a .py script (default: $${PYTHON_ENV}, else /usr/bin/python3 if it imports numpy, else python3)`,
    )
    .option(
      '--workers <n>',
      'worker threads, or Python processes for a .py script (default: cores / intra-op threads)',
    )
    .option('--intra-op-threads <n>', 'ONNX Runtime threads per operator (default 1)')
    .option('--execution-provider <name>', 'cpu or cuda, tried in order; repeat for several', collect, [])
    .option(
      '--inline <mode>',
      'auto: tiny ONNX models (run <= 0.1 ms, no script) run on the main thread; always; never (worker threads)',
      'auto',
    )
    .option(
      '--batching',
      'gather concurrent requests into one inference (models with a dynamic batch dimension)',
    )
    .option('--max-batch-size <n>', 'items per batch when batching (default 8)')
    .option('--max-queue-delay-ms <ms>', 'longest wait to fill a batch (default 2)')
    .option('--max-concurrent-requests <n>', 'requests running at once (default: 2 x workers x batch size)')
    .option('--max-queue-size <n>', 'requests waiting for a slot before 429 (default: 4 x concurrent)')
    .option(
      '--request-timeout-ms <ms>',
      'per-request deadline (default 5000); a worker still stuck on a request past it is replaced',
    )
    .option(
      '--memory-limit <size>',
      `whole-process memory limit, e.g. 2Gi or 512Mi (default: $${MEMORY_LIMIT_ENV}, else half of this machine's memory, or 90% of a container's limit); the worker holding the excess is replaced`,
    )
    .option(
      '--key <key>',
      'require Authorization: Bearer <key>; give twice for primary and secondary. Other users see it in `ps`: prefer --key-file or the environment',
      collect,
      [],
    )
    .option(
      '--key-file <file>',
      'read the keys from a file only you can read: one or two lines, primary then secondary',
    )
    .option('--collect-dir <dir>', 'capture inputs and outputs to rotating JSONL files here')
    .option('--sampling-rate <share>', 'share of requests captured, 0 to 1 (default 1)')
    .option('--log-level <level>', 'debug, info, warn, error or silent (default: info, warn on a terminal)')
    .addHelpText(
      'after',
      `
Keys: without --key or --key-file, the keys come from $${PRIMARY_KEY_ENV} and
$${SECONDARY_KEY_ENV}; with none of them, requests need no key. A key given with --key is on the
command line, which every user of the machine can read (ps, /proc/<pid>/cmdline) and your shell
history keeps; a key file (chmod 600) or the environment (readable only by you and root) is not.

Faults: a request past --request-timeout-ms gets 504, and the worker running it is replaced if it
does not answer within a second; the process's memory is held under --memory-limit (printed at
start) by replacing the worker that holds the excess (its requests get 503 naming the limit); when
no worker can start, or memory stays over the limit with no worker holding it, /v2/health/live
answers 503 (and the process exits with code 1 in the second case) so a supervisor restarts it.
GET /berth/status (same key as /metrics) says what happened.`,
    )
    .action(async (references: string[], flags: ServeFlags) => {
      const keys = serveKeys(flags);
      if (keys.warning !== undefined) context.io.stderr.write(`${keys.warning}\n`);
      const workspace = await context.openWorkspace();
      let server;
      let options;
      try {
        const models = await modelsToServe(workspace, references);
        options = resolveScoringOptions(scoringOptionsFromFlags(flags, models, keys.keys));
        server = await startScoringServer(options, {
          grpc: startGrpcServer,
          repository: workspaceRepository(workspace, models),
        });
        await server.ready;
      } catch (error) {
        await workspace.close();
        throw error;
      }
      const address = `http://${flags.host}:${server.httpPort}`;
      const limit = options.engine.memoryLimitBytes;
      const memoryLimit = describeMemoryLimit(limit, process.env, '--memory-limit');
      context.io.stderr.write(
        `serving ${references.join(', ')} at ${address}` +
          (server.grpcPort === undefined ? '' : ` (gRPC on port ${server.grpcPort})`) +
          `; ${memoryLimit}\n`,
      );
      context.io.stdout.write(
        `${JSON.stringify({
          event: 'listening',
          port: server.httpPort,
          grpcPort: server.grpcPort ?? null,
          memoryLimitBytes: limit,
          memoryLimit,
        })}\n`,
      );
      // The server stops itself on SIGTERM/SIGINT (handleSignals); wait for that, then release the workspace.
      await new Promise<void>((done) => {
        const stop = (): void => {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          done();
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      });
      await server.close();
      await workspace.close();
    });
}
