/**
 * A whole batch job (`BatchOperations.run`, as `berth batch run --target cluster:…` runs it) on the
 * cluster engine, with the cluster given by its address (the form from before named targets): the
 * registered ONNX model is shipped through Redis to two worker processes, and the predictions come
 * back in order. The engine is built with a unique queue prefix, which the address form cannot
 * carry, so that the test never shares a queue (named cluster targets: named-target.slow.test.ts).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createClusterEngine } from '../../src/batch/cluster/engine.js';
import { BatchOperations } from '../../src/sdk/batch.js';
import {
  endpoint,
  redisUrl,
  removePrefix,
  startWorkerProcess,
  uniquePrefix,
  type WorkerProcess,
} from './cluster-helpers.js';
import { linear, readPredictions, withBatchFixture } from './helpers.js';

test('a batch job with compute cluster:redis://… runs on berth workers', { timeout: 120_000 }, async () => {
  await withBatchFixture(async ({ dir, workspace, write }) => {
    const prefix = uniquePrefix();
    const workers: WorkerProcess[] = [];
    try {
      for (const name of ['j1', 'j2']) {
        workers.push(
          await startWorkerProcess({ prefix, name, cacheDir: join(dir, `cache-${name}`), concurrency: 2 }),
        );
      }
      for (let i = 0; i < 9; i += 1) await write(`tensors/t${i}.json`, JSON.stringify([i, 2 * i, 0.5]));
      const batch = new BatchOperations(workspace.dir, workspace.models, {
        engines: {
          cluster: (context) =>
            createClusterEngine({
              redisUrl,
              queuePrefix: prefix,
              log: (line) => context.log(line),
            }),
        },
      });
      const status = await batch.run({
        deployment: {
          name: 'on-cluster',
          model: 'linear',
          compute: `cluster:${redisUrl}`,
          mini_batch_size: 2,
          resources: { instance_count: 2 },
          max_concurrency_per_instance: 2,
        },
        baseDir: dir,
        input: join(dir, 'tensors'),
        output: join(dir, 'out'),
      });
      assert.equal(status.state, 'completed', status.reason);
      assert.equal(status.engine, 'cluster');
      assert.equal(status.target, endpoint.display);
      assert.deepEqual(status.items, { total: 9, succeeded: 9, failed: 0 });
      const { rows } = await readPredictions(status.output.predictions ?? '');
      assert.equal(rows.length, 9);
      for (const row of rows) {
        const i = Number(/t(\d)\.json/.exec(row[0] ?? '')?.[1]);
        assert.equal(Number(row[1]), linear(i, 2 * i, 0.5), row.join(','));
      }
      // The engine's onStarted hook names the berth workers that took mini-batches.
      assert.ok(
        Object.keys(status.workers).some((name) => name === 'j1' || name === 'j2'),
        JSON.stringify(status.workers),
      );
    } finally {
      for (const worker of workers) await worker.stop();
      await removePrefix(prefix);
    }
  });
});
