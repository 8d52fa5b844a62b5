/**
 * `node dist/bench/serve/tail-at-one.js [--rounds 8] [--requests 1500] [--json-load-first]`: p50 and p99 at
 * concurrency 1 for v2 binary requests to the OCR classifier, berth (as its targets start it, with
 * `--batching --max-batch-size 4` as bench:serve runs it) against the hand-written node:http +
 * workers server, in alternating rounds of `--requests` one-at-a-time requests (paired.ts). The
 * median of the pairs' p99 differences is the figure to quote; bench:serve prints the same figure
 * from fewer rounds. `--json-load-first` first puts berth through 3 s of OCR v2 JSON load at 16 and
 * at 64 connections, as bench:serve's JSON series do before its binary ones.
 */
import { availableParallelism } from 'node:os';
import { scoringProcessEnv, scoringProcessFlags } from '../../src/core/heap-headroom.js';
import { startChild, type ChildServer } from './child.js';
import { runHttpLoad } from './http-load.js';
import { prepareModels, toServe } from './models.js';
import { pairedTail } from './paired.js';
import { buildPayloads } from './payloads.js';
import { sequentialLatencies } from './sequential-client.js';
import { median } from './stats.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const rounds = option('rounds', 8);
const requests = option('requests', 1500);
const WARM_REQUESTS = 300;

const { ocr, tiny } = await prepareModels();
const ocrPayloads = buildPayloads(ocr);
const payload = ocrPayloads.v2Binary;
const servers: ChildServer[] = [];
const fixed = (value: number): string => value.toFixed(2);
try {
  const handWritten = await startChild('workers', {
    file: ocr.file,
    input: ocr.input,
    itemShape: ocr.itemShape,
    workers: availableParallelism(),
    maxBatch: 4,
  });
  servers.push(handWritten);
  const berth = await startChild(
    'berth',
    {
      options: {
        host: '127.0.0.1',
        port: 0,
        grpcPort: 0,
        models: [toServe(ocr), toServe(tiny)],
        requestTimeoutMs: 30_000,
        logLevel: 'silent',
        batching: { enabled: true, maxBatchSize: 4 },
      },
    },
    scoringProcessFlags(),
    scoringProcessEnv,
  );
  servers.push(berth);
  if (process.argv.includes('--json-load-first')) {
    for (const concurrency of [16, 64]) {
      await runHttpLoad({
        port: berth.ports.http ?? 0,
        payload: ocrPayloads.v2Json,
        concurrency,
        seconds: 3,
        warmupSeconds: 0,
        itemsPerRequest: 1,
      });
    }
  }
  for (const server of servers) await sequentialLatencies(server.ports.http ?? 0, payload, WARM_REQUESTS);
  console.log(`v2 binary (OCR classifier) at concurrency 1, ${rounds} rounds of ${requests} requests each`);
  const tail = await pairedTail(handWritten.ports.http ?? 0, berth.ports.http ?? 0, payload, {
    rounds,
    requests,
    onRound: (round, hand, own) =>
      console.log(
        `round ${round + 1}: hand-written p50 ${fixed(hand.p50)} p99 ${fixed(hand.p99)} ms; ` +
          `berth p50 ${fixed(own.p50)} p99 ${fixed(own.p99)} ms`,
      ),
  });
  console.log(
    `median p99: hand-written ${fixed(median(tail.first))} ms, berth ${fixed(median(tail.second))} ms; ` +
      `berth p99 - hand-written p99 @1: median ${fixed(median(tail.gaps))} ms (pairs ${tail.gaps.map(fixed).join(' ')})`,
  );
} finally {
  await Promise.all(servers.map((server) => server.stop()));
}
