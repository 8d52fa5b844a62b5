/**
 * `npm run bench:serve [-- --quick]`: how close berth's scoring server comes to the physical
 * limit, and to the obvious alternative, on a real model and on a tiny one.
 *
 * 1. raw onnxruntime-node in process: intra-op threads x batch size (the limit);
 * 2. a minimal node:http + session.run server (the obvious alternative), JSON bodies, and the
 *    same done well for binary bodies (servers/workers.ts: worker threads, stacked requests);
 * 3. berth (startScoringServer in a child process): v2 JSON, /score JSON, v2 binary and gRPC raw,
 *    at concurrency 1, 16 and 64;
 * 4. the tiny model: berth's requests/s against a node:http server that only echoes;
 * 5. the ratios to quote, from alternating windows (paired.ts): the tiny model through berth against
 *    echo, and berth's v2 binary p99 at concurrency 1 against the hand-written server's.
 * Prints tables and ratios, writes bench-results/serve.json, and exits non-zero when any part
 * errored. A benchmark, not a test: no thresholds.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { scoringProcessEnv, scoringProcessFlags } from '../../src/core/heap-headroom.js';
import { findPackageRoot } from '../../src/scoring/grpc/proto.js';
import { startChild, type ChildServer } from './child.js';
import { resolveConfig, type BenchConfig } from './config.js';
import { runGrpcLoad } from './grpc-load.js';
import { runHttpLoad, type LoadResult } from './http-load.js';
import { prepareModels, toServe, type BenchModel } from './models.js';
import { pairedHttp, pairedTail, pairRatios } from './paired.js';
import { buildPayloads, type HttpPayload } from './payloads.js';
import { measureRaw, type RawResult } from './raw-ort.js';
import { sequentialLatencies } from './sequential-client.js';
import { at, printRatios, printRaw, printSeries, ratio, type Ratios, type Series } from './report.js';
import { median, round } from './stats.js';

const config = resolveConfig(process.argv.slice(2));
const failures: string[] = [];
/** CPU the load generator (this process) spends while servers are under load. */
const loadCpu = { userMicros: 0, systemMicros: 0, wallMs: 0 };

/** Runs one load, adds the generator's CPU to the totals, and gives its share of all the cores. */
async function measured<T>(body: () => Promise<T>): Promise<{ value: T; generatorShare: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = await body();
  const used = process.cpuUsage(cpu);
  const wallMs = performance.now() - start;
  loadCpu.userMicros += used.user;
  loadCpu.systemMicros += used.system;
  loadCpu.wallMs += wallMs;
  return { value, generatorShare: (used.user + used.system) / 1000 / (wallMs * availableParallelism()) };
}

async function withServer<T>(
  name: string,
  start: () => Promise<ChildServer>,
  body: (server: ChildServer) => Promise<T>,
): Promise<T | undefined> {
  let server: ChildServer | undefined;
  try {
    server = await start();
    return await body(server);
  } catch (error) {
    failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    console.error(
      `\n${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    return undefined;
  } finally {
    await server?.stop();
  }
}

async function httpSeries(
  label: string,
  model: BenchModel,
  port: number | undefined,
  payload: HttpPayload,
  serverPid?: number,
): Promise<Series> {
  if (port === undefined) throw new Error(`${label}: the server reported no HTTP port`);
  const results: LoadResult[] = [];
  for (const concurrency of config.concurrencies) {
    const { value, generatorShare } = await measured(() =>
      runHttpLoad({
        port,
        payload,
        concurrency,
        seconds: config.loadSeconds,
        warmupSeconds: config.warmupSeconds,
        itemsPerRequest: 1,
        serverPid,
      }),
    );
    const result = { ...value, generatorShare: round(generatorShare, 3) };
    if (result.errors > 0)
      failures.push(`${label} at concurrency ${concurrency}: ${result.errors} failed requests`);
    results.push(result);
  }
  return { label, model: model.name, results };
}

async function grpcSeries(
  label: string,
  model: BenchModel,
  port: number | undefined,
  request: Record<string, unknown>,
): Promise<Series> {
  if (port === undefined) throw new Error(`${label}: the server reported no gRPC port`);
  const results: LoadResult[] = [];
  for (const concurrency of config.concurrencies) {
    const { value, generatorShare } = await measured(() =>
      runGrpcLoad({
        port,
        request,
        concurrency,
        seconds: config.loadSeconds,
        warmupSeconds: config.warmupSeconds,
        itemsPerRequest: 1,
      }),
    );
    const result = { ...value, generatorShare: round(generatorShare, 3) };
    if (result.errors > 0)
      failures.push(`${label} at concurrency ${concurrency}: ${result.errors} failed calls`);
    results.push(result);
  }
  return { label, model: model.name, results };
}

/** servers/workers.ts stacks up to this many requests per run, as berth's --max-batch-size 4. */
const HAND_WRITTEN_MAX_BATCH = 4;

/**
 * berth at the defaults `berth serve` gives, plus documented flags: --batching --max-batch-size 4
 * (dynamic batching is opt-in, as in Triton; on this CPU a run of 4 images keeps its working
 * set in cache, as the raw sweep shows), --max-queue-size,
 * --request-timeout-ms and --log-level silent (the bench measures serving, not log shipping).
 * Placement (inline for the tiny model, workers for the OCR model) is the 'auto' default.
 */
function berthOptions(models: BenchModel[], benchConfig: BenchConfig): Record<string, unknown> {
  const deepest = Math.max(...benchConfig.concurrencies);
  return {
    options: {
      host: '127.0.0.1',
      port: 0,
      grpcPort: 0,
      models: models.map(toServe),
      // The load generator keeps `deepest` requests in flight; all of them must be admitted
      // (queued, not refused), or the bench would measure 429s.
      maxQueueSize: deepest * 4,
      requestTimeoutMs: 30_000,
      logLevel: 'silent',
      batching: { enabled: true, maxBatchSize: 4 },
    },
  };
}

/**
 * The raw limit scaled to the cores the load generator left free during `result`'s load: on a
 * machine where the generator shares the cores, no server can pass it.
 */
function coresLeft(rawBest: number, result: LoadResult | undefined): number | undefined {
  if (result?.generatorShare === undefined) return undefined;
  return rawBest * (1 - result.generatorShare);
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(
    `berth serve benchmark${config.quick ? ' (--quick)' : ''}: node ${process.version}, onnxruntime-node ${ort.env.versions.node ?? '?'}, ` +
      `${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown cpu'})`,
  );
  const { ocr, tiny } = await prepareModels();
  const ocrPayloads = buildPayloads(ocr);
  const tinyPayloads = buildPayloads(tiny);

  // 1. The physical limit.
  const raw: Record<string, RawResult> = {};
  for (const model of [ocr, tiny]) {
    raw[model.name] = await measureRaw(model, config);
    printRaw(raw[model.name]!);
  }

  // 2. The obvious alternative, and 4's echo floor.
  const alternative = await withServer(
    'node:http + session.run',
    () => startChild('plain', { mode: 'infer', file: ocr.file }),
    (server) => httpSeries('node:http + session.run', ocr, server.ports.http, ocrPayloads.v2Json),
  );
  const echo = await withServer(
    'node:http echo',
    () => startChild('plain', { mode: 'echo', file: '' }),
    (server) => httpSeries('node:http echo', tiny, server.ports.http, tinyPayloads.v2Json, server.pid),
  );

  // The hand-written alternative done well, for binary bodies.
  const handWrittenArgs = {
    file: ocr.file,
    input: ocr.input,
    itemShape: ocr.itemShape,
    workers: availableParallelism(),
    maxBatch: HAND_WRITTEN_MAX_BATCH,
  };
  const handWritten = await withServer(
    'node:http + workers',
    () => startChild('workers', handWrittenArgs),
    (server) => httpSeries('node:http+workers binary', ocr, server.ports.http, ocrPayloads.v2Binary),
  );

  // 3. berth, and 4's tiny model through berth.
  const berth = await withServer(
    'berth',
    // berth's scoring processes run with the heap floor of core/heap-headroom.ts.
    () => startChild('berth', berthOptions([ocr, tiny], config), scoringProcessFlags(), scoringProcessEnv),
    async (server) => ({
      v2Json: await httpSeries('berth v2 JSON', ocr, server.ports.http, ocrPayloads.v2Json),
      scoreJson: await httpSeries('berth /score JSON', ocr, server.ports.http, ocrPayloads.scoreJson),
      v2Binary: await httpSeries('berth v2 binary', ocr, server.ports.http, ocrPayloads.v2Binary),
      grpc: await grpcSeries('berth gRPC raw', ocr, server.ports.grpc, ocrPayloads.grpc),
      tinyJson: await httpSeries(
        'berth v2 JSON (tiny)',
        tiny,
        server.ports.http,
        tinyPayloads.v2Json,
        server.pid,
      ),
      tinyGrpc: await grpcSeries('berth gRPC raw (tiny)', tiny, server.ports.grpc, tinyPayloads.grpc),
    }),
  );

  // 5. The ratios to quote: echo, the hand-written server and berth run side by side, and each pair
  // of windows (echo then berth; hand-written then berth) sees the same machine.
  const paired = await withServer(
    'paired: node:http echo',
    () => startChild('plain', { mode: 'echo', file: '' }),
    (echoServer) =>
      withServer(
        'paired: node:http + workers',
        () => startChild('workers', handWrittenArgs),
        (handServer) =>
          withServer(
            'paired: berth',
            () =>
              startChild(
                'berth',
                berthOptions([ocr, tiny], config),
                scoringProcessFlags(),
                scoringProcessEnv,
              ),
            async (berthServer) => {
              const echoAt = { port: echoServer.ports.http ?? 0, pid: echoServer.pid };
              const berthAt = { port: berthServer.ports.http ?? 0, pid: berthServer.pid };
              const tinyPairs = [];
              for (const concurrency of config.concurrencies) {
                const { value } = await measured(() =>
                  pairedHttp(echoAt, berthAt, tinyPayloads.v2Json, {
                    concurrency,
                    pairs: config.pairs,
                    seconds: config.pairedSeconds,
                    warmupSeconds: config.warmupSeconds,
                  }),
                );
                tinyPairs.push(value);
              }
              for (const port of [handServer.ports.http ?? 0, berthAt.port])
                await sequentialLatencies(port, ocrPayloads.v2Binary, Math.min(300, config.tailRequests));
              const tail = await pairedTail(handServer.ports.http ?? 0, berthAt.port, ocrPayloads.v2Binary, {
                rounds: config.tailRounds,
                requests: config.tailRequests,
              });
              return { tiny: tinyPairs, tail };
            },
          ),
      ),
  );

  const ocrSeries = [
    alternative,
    handWritten,
    berth?.v2Json,
    berth?.scoreJson,
    berth?.v2Binary,
    berth?.grpc,
  ].filter((s) => s !== undefined);
  const tinySeries = [echo, berth?.tinyJson, berth?.tinyGrpc].filter((s) => s !== undefined);
  printSeries(`${ocr.name}: one 3x48x192 image per request`, ocrSeries);
  printSeries(`${tiny.name}: one [1,3] row per request`, tinySeries);

  const deepest = Math.max(...config.concurrencies);
  const shallowest = Math.min(...config.concurrencies);
  const ocrRaw = raw[ocr.name]!;
  const ratios: Ratios = {
    [`berth binary@${deepest} / raw best (items/s)`]: ratio(
      at(berth?.v2Binary, deepest)?.itemsPerSecond,
      ocrRaw.best.itemsPerSecond,
    ),
    [`berth gRPC@${deepest} / raw best (items/s)`]: ratio(
      at(berth?.grpc, deepest)?.itemsPerSecond,
      ocrRaw.best.itemsPerSecond,
    ),
    'raw best / raw default (items/s)': round(ocrRaw.bestOverDefault, 3),
    [`node:http+workers binary@${deepest} / raw best (items/s)`]: ratio(
      at(handWritten, deepest)?.itemsPerSecond,
      ocrRaw.best.itemsPerSecond,
    ),
    [`berth binary@${deepest} / (raw best x cores the load generator left)`]: ratio(
      at(berth?.v2Binary, deepest)?.itemsPerSecond,
      coresLeft(ocrRaw.best.itemsPerSecond, at(berth?.v2Binary, deepest)),
    ),
    [`berth binary@${deepest} / node:http+workers binary@${deepest} (items/s)`]: ratio(
      at(berth?.v2Binary, deepest)?.itemsPerSecond,
      at(handWritten, deepest)?.itemsPerSecond,
    ),
  };
  for (const c of config.concurrencies) {
    ratios[`berth v2 JSON@${c} / node:http+run@${c} (items/s)`] = ratio(
      at(berth?.v2Json, c)?.itemsPerSecond,
      at(alternative, c)?.itemsPerSecond,
    );
  }
  // The tiny model's ratios come from the alternating windows of part 5. On 2 cores the load
  // generator takes what the echo server leaves, so req/s compares the two servers on unequal shares
  // of the cores; main-thread CPU per request compares what bounds each one's req/s on cores of its own.
  for (const entry of paired?.tiny ?? []) {
    const c = entry.concurrency;
    const pairs = `median of ${entry.first.length} pairs`;
    ratios[`tiny: berth v2 JSON@${c} / echo@${c} (req/s, ${pairs})`] = pairRatios(
      entry,
      (result) => result.requestsPerSecond,
    ).median;
    // The inverse of CPU per request, so each pair's ratio is echo's CPU over berth's.
    ratios[`tiny: echo / berth v2 JSON main-thread CPU per request @${c} (${pairs})`] = pairRatios(
      entry,
      (result) =>
        result.serverMainMicrosPerRequest === undefined ? undefined : 1 / result.serverMainMicrosPerRequest,
    ).median;
  }
  const p99 = at(berth?.v2Binary, shallowest)?.p99Ms;
  ratios[`berth binary p99@${shallowest} - raw single-item ms`] =
    p99 === undefined ? null : round(p99 - ocrRaw.default.runMs, 3);
  const handWrittenP99 = at(handWritten, shallowest)?.p99Ms;
  ratios[`node:http+workers binary p99@${shallowest} - raw single-item ms`] =
    handWrittenP99 === undefined ? null : round(handWrittenP99 - ocrRaw.default.runMs, 3);
  if (paired !== undefined) {
    ratios[`berth - node:http+workers binary p99@1 ms (median of ${paired.tail.gaps.length} pairs)`] = round(
      median(paired.tail.gaps),
      3,
    );
  }
  const grpcP99 = at(berth?.grpc, shallowest)?.p99Ms;
  ratios[`berth gRPC p99@${shallowest} - raw single-item ms`] =
    grpcP99 === undefined ? null : round(grpcP99 - ocrRaw.default.runMs, 3);
  printRatios(ratios);
  if (paired !== undefined) {
    console.log('\nalternating windows, pair by pair (echo then berth; hand-written then berth)');
    for (const entry of paired.tiny) {
      const rps = pairRatios(entry, (result) => result.requestsPerSecond).pairs;
      console.log(`  tiny @${entry.concurrency}: berth / echo req/s ${rps.join(' ')}`);
    }
    console.log(`  p99@1 berth - hand-written ms: ${paired.tail.gaps.map((gap) => round(gap, 2)).join(' ')}`);
  }

  const cores = availableParallelism();
  const loadGenerator = {
    userSeconds: round(loadCpu.userMicros / 1e6, 2),
    systemSeconds: round(loadCpu.systemMicros / 1e6, 2),
    wallSeconds: round(loadCpu.wallMs / 1000, 2),
    /** Share of all cores the load generator took while load ran (1 = every core). */
    shareOfCores: round((loadCpu.userMicros + loadCpu.systemMicros) / 1000 / (loadCpu.wallMs * cores), 3),
  };
  console.log(
    `\nload generator (this process) CPU while under load: ${loadGenerator.userSeconds} s user + ${loadGenerator.systemSeconds} s system ` +
      `over ${loadGenerator.wallSeconds} s = ${round(loadGenerator.shareOfCores * 100, 1)}% of ${cores} cores`,
  );

  const dir = join(findPackageRoot(), 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'serve.json');
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        quick: config.quick,
        node: process.version,
        onnxruntime: ort.env.versions.node,
        cores,
        cpu: cpus()[0]?.model,
        config,
        raw,
        ocr: ocrSeries,
        tiny: tinySeries,
        paired,
        ratios,
        loadGenerator,
        failures,
        seconds: round((performance.now() - started) / 1000, 1),
      },
      null,
      2,
    )}\n`,
  );
  console.log(`wrote ${file} in ${round((performance.now() - started) / 1000, 1)} s`);
  if (failures.length > 0) {
    console.error(`\n${failures.length} part(s) failed:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

await main();
