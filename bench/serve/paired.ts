/**
 * Two servers measured in alternating windows, so that each pair of windows sees the same machine.
 * On a shared machine one window per server, minutes apart, moves requests/s by a quarter and the
 * p99 at concurrency 1 by milliseconds; the median over pairs of each pair's ratio (or difference)
 * is the figure to quote.
 */
import { runHttpLoad, type LoadResult } from './http-load.js';
import type { HttpPayload } from './payloads.js';
import { sequentialLatencies } from './sequential-client.js';
import { median, round, summarize, type LatencySummary } from './stats.js';

export interface PairedServer {
  port: number;
  /** For the main thread's CPU per request (Linux). */
  pid: number;
}

export interface PairedHttp {
  concurrency: number;
  first: LoadResult[];
  second: LoadResult[];
}

/** `pairs` windows of `seconds` each, first server then second, at one concurrency. */
export async function pairedHttp(
  first: PairedServer,
  second: PairedServer,
  payload: HttpPayload,
  options: { concurrency: number; pairs: number; seconds: number; warmupSeconds: number },
): Promise<PairedHttp> {
  const results: PairedHttp = { concurrency: options.concurrency, first: [], second: [] };
  for (let pair = 0; pair < options.pairs; pair++) {
    for (const [server, into] of [
      [first, results.first],
      [second, results.second],
    ] as const) {
      into.push(
        await runHttpLoad({
          port: server.port,
          payload,
          concurrency: options.concurrency,
          seconds: options.seconds,
          warmupSeconds: pair === 0 ? options.warmupSeconds : 0,
          itemsPerRequest: 1,
          serverPid: server.pid,
        }),
      );
    }
  }
  return results;
}

/** Each pair's `value(second) / value(first)`, and their median. */
export function pairRatios(
  paired: PairedHttp,
  value: (result: LoadResult) => number | undefined,
): { median: number; pairs: number[] } {
  const pairs: number[] = [];
  paired.first.forEach((first, index) => {
    const a = value(first);
    const b = value(paired.second[index]!);
    if (a !== undefined && b !== undefined && a > 0) pairs.push(round(b / a, 3));
  });
  return { median: median(pairs), pairs };
}

export interface PairedTail {
  /** p99 (ms) of each round, per server. */
  first: number[];
  second: number[];
  /** second's p99 minus first's, per pair. */
  gaps: number[];
}

/** `rounds` rounds of `requests` one-at-a-time requests (concurrency 1), first server then second. */
export async function pairedTail(
  first: number,
  second: number,
  payload: HttpPayload,
  options: {
    rounds: number;
    requests: number;
    onRound?: (round: number, first: LatencySummary, second: LatencySummary) => void;
  },
): Promise<PairedTail> {
  const tail: PairedTail = { first: [], second: [], gaps: [] };
  for (let round = 0; round < options.rounds; round++) {
    const a = summarize(await sequentialLatencies(first, payload, options.requests));
    const b = summarize(await sequentialLatencies(second, payload, options.requests));
    tail.first.push(a.p99);
    tail.second.push(b.p99);
    tail.gaps.push(b.p99 - a.p99);
    options.onRound?.(round, a, b);
  }
  return tail;
}
