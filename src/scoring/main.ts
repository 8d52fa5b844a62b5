/**
 * The scoring server as a process of its own:
 * `node dist/src/scoring/main.js --config <options.json>`. The file holds scoring options (a
 * resolved object, as `berth serve` and the targets write it, or user options to resolve). Once
 * listening it prints one line, `{"event":"listening","port":…,"grpcPort":…,"memoryLimitBytes":…,
 * "memoryLimit":"<the limit and where it came from>"}`, and it stops gracefully on SIGTERM or
 * SIGINT (after `stopDelayMs`; `BERTH_STOP_DELAY_MS` in the environment sets it for an image whose
 * options file is baked in, as the Kubernetes target's pods do). When it can no longer recover by
 * itself it prints `{"event":"failed",…}` on stderr and exits with code 1 (exitOnFatal).
 */
import { readFile } from 'node:fs/promises';
import { BerthError, toBerthError } from '../core/errors.js';
import { stopDelayFromEnv } from '../core/stop-delay.js';
import { describeMemoryLimit } from './memory-limit.js';
import { resolveScoringOptions } from './options.js';
import { startScoringServer, type GrpcStarter } from './server.js';

function configPath(argv: readonly string[]): string {
  const index = argv.indexOf('--config');
  const path = index === -1 ? undefined : argv[index + 1];
  if (path === undefined) throw new BerthError('BAD_INPUT', 'usage: main.js --config <options.json>');
  return path;
}

async function grpcStarter(): Promise<GrpcStarter> {
  const grpc = await import('./grpc/index.js');
  return (options) => grpc.startGrpcServer(options);
}

async function main(argv: readonly string[]): Promise<void> {
  const path = configPath(argv);
  let input: unknown;
  try {
    input = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new BerthError(
      'INVALID_SPEC',
      `cannot read scoring options from ${path}: ${toBerthError(error).message}`,
    );
  }
  const options = resolveScoringOptions({
    ...(input as object),
    ...stopDelayFromEnv(process.env),
    handleSignals: true,
    exitOnFatal: true,
  });
  const server = await startScoringServer(options, {
    grpc: options.grpcPort === undefined ? undefined : await grpcStarter(),
  });
  await server.ready;
  const limit = options.engine.memoryLimitBytes;
  process.stdout.write(
    `${JSON.stringify({
      event: 'listening',
      port: server.httpPort,
      grpcPort: server.grpcPort ?? null,
      memoryLimitBytes: limit,
      memoryLimit: describeMemoryLimit(limit),
    })}\n`,
  );
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const berth = toBerthError(error);
  process.stderr.write(`${JSON.stringify({ event: 'failed', code: berth.code, message: berth.message })}\n`);
  process.exitCode = berth.exitCode;
});
