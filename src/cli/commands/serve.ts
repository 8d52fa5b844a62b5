import type { Command } from 'commander';
import { resolve } from 'node:path';
import { BerthError } from '../../core/errors.js';
import { startGrpcServer } from '../../scoring/grpc/index.js';
import { resolveScoringOptions, type ScoringOptions } from '../../scoring/options.js';
import { startScoringServer } from '../../scoring/server.js';
import type { ModelToServe } from '../../scoring/engine.js';
import type { CliContext } from '../context.js';
import { modelsToServe, workspaceRepository } from './serve-models.js';

interface ServeFlags {
  port: string;
  host: string;
  grpcPort?: string;
  code?: string;
  scoringScript?: string;
  workers?: string;
  intraOpThreads?: string;
  executionProvider: string[];
  batching?: boolean;
  maxBatchSize?: string;
  maxQueueDelayMs?: string;
  maxConcurrentRequests?: string;
  maxQueueSize?: string;
  requestTimeoutMs?: string;
  key: string[];
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

/** Turns the flags into scoring options; the scoring server's own schema checks the values. */
export function scoringOptionsFromFlags(flags: ServeFlags, models: ModelToServe[]): ScoringOptions {
  if (flags.code !== undefined && flags.scoringScript === undefined) {
    throw new BerthError('BAD_INPUT', '--code needs --scoring-script (the entry file inside it)');
  }
  if (flags.key.length > 2)
    throw new BerthError('BAD_INPUT', '--key takes at most two keys (primary and secondary)');
  const [primaryKey, secondaryKey] = flags.key;
  const intraOpThreads = integer(flags.intraOpThreads, '--intra-op-threads');
  const maxBatchSize = integer(flags.maxBatchSize, '--max-batch-size');
  const maxQueueDelayMs = number(flags.maxQueueDelayMs, '--max-queue-delay-ms');
  return {
    port: integer(flags.port, '--port'),
    host: flags.host,
    grpcPort: integer(flags.grpcPort, '--grpc-port'),
    auth: primaryKey === undefined ? null : { primaryKey, secondaryKey },
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
    dataCollection:
      flags.collectDir === undefined
        ? undefined
        : { dir: resolve(flags.collectDir), samplingRate: number(flags.samplingRate, '--sampling-rate') },
    logLevel: flags.logLevel as ScoringOptions['logLevel'],
    scoringScript:
      flags.scoringScript === undefined ? undefined : resolve(flags.code ?? '.', flags.scoringScript),
    models,
    handleSignals: true,
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
    .option('--scoring-script <file>', 'entry script exporting init(ctx) and run(input, ctx); TS or JS')
    .option('--workers <n>', 'worker threads (default: cores / intra-op threads)')
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
    .option('--request-timeout-ms <ms>', 'per-request deadline (default 5000)')
    .option(
      '--key <key>',
      'require Authorization: Bearer <key>; give twice for primary and secondary',
      collect,
      [],
    )
    .option('--collect-dir <dir>', 'capture inputs and outputs to rotating JSONL files here')
    .option('--sampling-rate <share>', 'share of requests captured, 0 to 1 (default 1)')
    .option('--log-level <level>', 'debug, info, warn, error or silent (default: info, warn on a terminal)')
    .action(async (references: string[], flags: ServeFlags) => {
      const workspace = await context.openWorkspace();
      let server;
      try {
        const models = await modelsToServe(workspace, references);
        const options = resolveScoringOptions(scoringOptionsFromFlags(flags, models));
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
      context.io.stderr.write(
        `serving ${references.join(', ')} at ${address}` +
          (server.grpcPort === undefined ? '' : ` (gRPC on port ${server.grpcPort})`) +
          '\n',
      );
      context.io.stdout.write(
        `${JSON.stringify({ event: 'listening', port: server.httpPort, grpcPort: server.grpcPort ?? null })}\n`,
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
