import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Queue, type Job } from 'bullmq';
import { fetchModel, shipModel } from '../../src/batch/cluster/artifacts.js';
import { parseClusterAddress } from '../../src/batch/cluster/config.js';
import { createClusterEngine } from '../../src/batch/cluster/engine.js';
import { dealSlots } from '../../src/batch/cluster/gpu-processes.js';
import { bullJobId, queueName } from '../../src/batch/cluster/names.js';
import { startClusterWorker } from '../../src/batch/cluster/worker.js';
import { hasErrorCode } from '../../src/core/errors.js';
import { encodeManifest } from '../../src/workspace/manifest.js';
import { hashBytes, hashFile } from '../../src/workspace/hashing.js';
import {
  countKeys,
  endpoint,
  redisUrl,
  removePrefix,
  tasksFor,
  uniquePrefix,
  withRedis,
  writeInputs,
  writeScript,
} from './cluster-helpers.js';

const temp = await mkdtemp(join(tmpdir(), 'berth-cluster-'));
after(() => rm(temp, { recursive: true, force: true }));

describe('cluster address', () => {
  it('parses host, port and database, with or without the cluster: prefix', () => {
    assert.deepEqual(
      { ...parseClusterAddress('cluster:redis://10.0.0.5:6380/2'), display: '' },
      { host: '10.0.0.5', port: 6380, db: 2, username: undefined, password: undefined, display: '' },
    );
    assert.equal(parseClusterAddress('redis://cache').port, 6379);
    assert.equal(parseClusterAddress('redis://:secret@cache:1').password, 'secret');
  });

  it('says what is wrong with a bad address', () => {
    for (const [text, why] of [
      ['cluster:http://x:1', /must start with redis:\/\//],
      ['redis://x:99999', /invalid cluster address/],
      ['redis://x:1/abc', /database "abc" is not a number/],
      ['redis://x:1/16', /database must be 0-15/],
      ['rediss://x:1', /TLS/],
    ] as const) {
      assert.throws(
        () => parseClusterAddress(text),
        (error: unknown) => hasErrorCode(error, 'BAD_INPUT') && why.test((error as Error).message),
      );
    }
  });
});

describe('names and GPUs', () => {
  it('gives each attempt a deterministic BullMQ id without ":"', () => {
    assert.equal(bullJobId('job:1', 3, 2), 'job%3A1.3.2');
    assert.equal(bullJobId('job:1', 3, 2), bullJobId('job:1', 3, 2));
  });

  it('deals concurrency slots over GPUs, one process each', () => {
    assert.deepEqual(dealSlots(2, ['0', '1']), [
      { gpu: '0', slots: 1 },
      { gpu: '1', slots: 1 },
    ]);
    assert.deepEqual(dealSlots(3, ['0', '1']), [
      { gpu: '0', slots: 2 },
      { gpu: '1', slots: 1 },
    ]);
    assert.throws(() => dealSlots(1, ['0', '1']), /less than the 2 GPUs/);
  });
});

describe('model artifacts through Redis', () => {
  it('ships a file once, fetches it verified, repairs a corrupt cache and refuses a corrupt blob', async () => {
    const prefix = uniquePrefix();
    try {
      const dir = join(temp, 'artifact-file');
      const { program } = await writeInputs(dir, 0, 'unused');
      const model = program.model!;
      const cacheDir = join(dir, 'cache');
      await withRedis(async (redis) => {
        assert.ok((await shipModel(redis, prefix, model, model.local!)) > 3 * 1024 * 1024);
        assert.equal(await shipModel(redis, prefix, model, model.local!), 0, 'shipped once');

        const first = await fetchModel(redis, prefix, cacheDir, model);
        assert.equal(first.source, 'downloaded');
        assert.equal((await hashFile(first.modelFile!)).sha256, model.sha256);
        assert.equal((await fetchModel(redis, prefix, cacheDir, model)).source, 'cache');

        await chmod(first.modelFile!, 0o644);
        await writeFile(first.modelFile!, 'tampered');
        const repaired = await fetchModel(redis, prefix, cacheDir, model);
        assert.equal(repaired.source, 'repaired');
        assert.equal((await hashFile(repaired.modelFile!)).sha256, model.sha256);

        await redis.hset(`${prefix}:artifact:${model.sha256}`, 'c1', 'garbage');
        await assert.rejects(fetchModel(redis, prefix, join(dir, 'cache-2'), model), (error: unknown) =>
          hasErrorCode(error, 'CORRUPT_ARTIFACT'),
        );
      });
    } finally {
      await removePrefix(prefix);
    }
  });

  it('ships a folder by its manifest and rebuilds its tree on the worker', async () => {
    const prefix = uniquePrefix();
    try {
      const folder = join(temp, 'artifact-folder', 'bundle');
      await mkdir(join(folder, 'sub'), { recursive: true });
      await writeFile(join(folder, 'a.onnx'), 'not really onnx');
      await writeFile(join(folder, 'sub', 'vocab.txt'), 'a\nb\n');
      const entries = [
        { path: 'a.onnx', ...(await hashFile(join(folder, 'a.onnx'))) },
        { path: 'sub/vocab.txt', ...(await hashFile(join(folder, 'sub', 'vocab.txt'))) },
      ];
      const sha256 = hashBytes(encodeManifest(entries));
      const model = { sha256, kind: 'folder' as const, fileName: 'bundle', modelFile: 'a.onnx' };
      await withRedis(async (redis) => {
        await shipModel(redis, prefix, model, { modelDir: folder });
        const fetched = await fetchModel(redis, prefix, join(temp, 'artifact-folder', 'cache'), model);
        assert.equal(await readFile(join(fetched.modelDir, 'sub', 'vocab.txt'), 'utf8'), 'a\nb\n');
        assert.equal(fetched.modelFile, join(fetched.modelDir, 'a.onnx'));
      });
    } finally {
      await removePrefix(prefix);
    }
  });
});

describe('an unreachable Redis', () => {
  // Port 1 refuses connections: the engine and the worker must say so, not retry in the background.
  const nowhere = 'redis://127.0.0.1:1';

  it('fails the engine (NOT_READY) and the worker at once instead of retrying in the background', async () => {
    const started = performance.now();
    await assert.rejects(createClusterEngine({ redisUrl: nowhere }), (error: unknown) =>
      hasErrorCode(error, 'NOT_READY'),
    );
    await assert.rejects(startClusterWorker({ redisUrl: nowhere, cacheDir: join(temp, 'nowhere') }));
    assert.ok(performance.now() - started < 5000, 'failed fast');
  });
});

describe('cluster engine with an in-process worker', () => {
  it('runs every mini-batch once and reports who ran it', async () => {
    const prefix = uniquePrefix();
    const dir = join(temp, 'in-process');
    // Each mini-batch runs 150 ms: long enough for the worker to name itself (after 100 ms).
    const { files, program } = await writeInputs(dir, 30, await writeScript(join(dir, 'script'), 150));
    const worker = await startClusterWorker({
      redisUrl,
      queuePrefix: prefix,
      cacheDir: join(dir, 'cache'),
      concurrency: 2,
      workerName: 'w-in',
    });
    const engine = await createClusterEngine({ redisUrl: `cluster:${redisUrl}`, queuePrefix: prefix });
    try {
      const started: string[] = [];
      const outcomes = await Promise.all(
        tasksFor('job-a', files, 4, program).map((task) =>
          engine.execute(task, undefined, { onStarted: (who) => started.push(who?.name ?? '(taken)') }),
        ),
      );
      assert.ok(
        outcomes.every((outcome) => outcome.status === 'succeeded' && outcome.worker === 'w-in'),
        JSON.stringify(outcomes[0]),
      );
      const counts = countKeys(outcomes);
      assert.equal(counts.size, 30);
      assert.ok([...counts.values()].every((count) => count === 1));
      assert.equal((outcomes[0]?.rows[0]?.value as { modelBytes: number }).modelBytes, 3 * 1024 * 1024 + 17);
      // Each of the 8 mini-batches: taken (its `active` event), then named by the worker running it.
      assert.equal(started.filter((name) => name === '(taken)').length, 8, started.join());
      assert.equal(started.filter((name) => name === 'w-in').length, 8, started.join());
    } finally {
      await engine.close();
      await worker.close();
      await removePrefix(prefix);
    }
  });

  it(
    'reads an attempt that finished before the submitter came back, then removes its job',
    { timeout: 30_000 },
    async () => {
      const prefix = uniquePrefix();
      const dir = join(temp, 'came-back');
      const { files, program } = await writeInputs(dir, 3, await writeScript(temp, 5));
      const worker = await startClusterWorker({
        redisUrl,
        queuePrefix: prefix,
        cacheDir: join(dir, 'cache'),
      });
      const [task] = tasksFor('job-back', files, 3, program);
      assert.ok(task);
      const id = bullJobId(task.jobId, task.plan.index, task.attempt);
      // What a submitter that died after enqueuing leaves: its attempt ran and finished, nobody read it.
      const queue = new Queue(queueName, {
        connection: { host: endpoint.host, port: endpoint.port },
        prefix,
      });
      let finished: Job | undefined;
      try {
        await queue.add('mini-batch', task, { jobId: id, attempts: 1 });
        for (finished = await queue.getJob(id); finished?.finishedOn === undefined;) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          finished = await queue.getJob(id);
        }
      } finally {
        await queue.close();
      }
      // The resumed submitter enqueues the same attempt again: a no-op that the `duplicated` event
      // reports. With the poll an hour away, only that event can settle the wait.
      const engine = await createClusterEngine({ redisUrl, queuePrefix: prefix, pollIntervalMs: 3_600_000 });
      try {
        const outcome = await engine.execute(task);
        // Its duration too: the outcome of the run that finished, not of a second run.
        assert.deepEqual(JSON.parse(JSON.stringify(outcome)), finished?.returnvalue);
        await engine.close();
        await withRedis(async (redis) =>
          assert.equal(await redis.exists(`${prefix}:batch:${id}`), 0, 'its job removed once read'),
        );
      } finally {
        await engine.close();
        await worker.close();
        await removePrefix(prefix);
      }
    },
  );

  it('reports a script that throws and a timeout as failed outcomes, not rejections', async () => {
    const prefix = uniquePrefix();
    const dir = join(temp, 'failures');
    await mkdir(dir, { recursive: true });
    const throwing = join(dir, 'throw.mjs');
    await writeFile(throwing, 'export function run() { throw new Error("boom"); }\n');
    const { files, program } = await writeInputs(dir, 2, await writeScript(dir, 2000));
    const worker = await startClusterWorker({
      redisUrl,
      queuePrefix: prefix,
      cacheDir: join(dir, 'cache'),
      concurrency: 2,
    });
    const engine = await createClusterEngine({ redisUrl, queuePrefix: prefix });
    try {
      const [boom, slow] = await Promise.all([
        engine.execute({
          jobId: 'j',
          attempt: 0,
          plan: { index: 0, kind: 'files', paths: files },
          program: { ...program, scoringScript: throwing },
          timeoutMs: 10_000,
        }),
        engine.execute({
          jobId: 'j',
          attempt: 0,
          plan: { index: 1, kind: 'files', paths: files },
          program,
          timeoutMs: 300,
        }),
      ]);
      assert.equal(boom?.status, 'failed');
      assert.match(boom?.error?.message ?? '', /boom/);
      assert.equal(slow?.status, 'failed');
      assert.equal(slow?.error?.code, 'UPSTREAM_TIMEOUT');
    } finally {
      await engine.close();
      await worker.close();
      await removePrefix(prefix);
    }
  });
});
