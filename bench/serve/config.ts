import { availableParallelism } from 'node:os';

/**
 * How long each part of the benchmark runs. The full run fits in about 3-5 minutes on 2 cores;
 * `--quick` is a ~30 s smoke run that exercises every path with short windows.
 */
export interface BenchConfig {
  quick: boolean;
  /** Seconds per load-generator run (one server, one mode, one concurrency). */
  loadSeconds: number;
  /** Seconds of load before each measured run, to warm the server's JIT and sessions. */
  warmupSeconds: number;
  /** Milliseconds per raw onnxruntime measurement (one thread count, one batch size). */
  rawMs: number;
  batchSizes: number[];
  threadCounts: number[];
  /** Single-threaded sessions run at once for the parallel part of the limit (one per core). */
  parallelSessions: number;
  parallelBatchSizes: number[];
  concurrencies: number[];
  /** Alternating echo/berth windows per concurrency for the tiny model's quoted ratios (paired.ts). */
  pairs: number;
  /** Seconds per paired window. */
  pairedSeconds: number;
  /** Alternating hand-written/berth rounds for the quoted p99 at concurrency 1, and requests per round. */
  tailRounds: number;
  tailRequests: number;
}

export function resolveConfig(argv: readonly string[]): BenchConfig {
  const quick = argv.includes('--quick');
  return quick
    ? {
        quick,
        loadSeconds: 0.5,
        warmupSeconds: 0.2,
        rawMs: 100,
        batchSizes: [1, 2, 4, 8, 16, 32],
        threadCounts: [1, 2],
        parallelSessions: availableParallelism(),
        parallelBatchSizes: [1, 4, 8, 16],
        concurrencies: [1, 16, 64],
        pairs: 1,
        pairedSeconds: 0.3,
        tailRounds: 1,
        tailRequests: 100,
      }
    : {
        quick,
        loadSeconds: 4,
        warmupSeconds: 1,
        rawMs: 1200,
        batchSizes: [1, 2, 4, 8, 16, 32],
        threadCounts: [1, 2],
        parallelSessions: availableParallelism(),
        parallelBatchSizes: [1, 4, 8, 16],
        concurrencies: [1, 16, 64],
        pairs: 3,
        pairedSeconds: 2,
        tailRounds: 5,
        tailRequests: 1000,
      };
}
