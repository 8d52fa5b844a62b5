/**
 * Child process: berth's scoring server (HTTP and gRPC front ends) over the benchmark models, as
 * `berth serve` starts it. Prints `{"http": port, "grpc": port}` once every model is warmed;
 * stops gracefully on SIGTERM.
 */
import { startGrpcServer } from '../../../src/scoring/grpc/index.js';
import { resolveScoringOptions, type ScoringOptions } from '../../../src/scoring/options.js';
import { startScoringServer } from '../../../src/scoring/server.js';

const args = JSON.parse(process.argv[2] ?? '{}') as { options: ScoringOptions };

const server = await startScoringServer(resolveScoringOptions(args.options), { grpc: startGrpcServer });
await server.ready;
process.stdout.write(`${JSON.stringify({ http: server.httpPort, grpc: server.grpcPort })}\n`);
process.on('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
