/**
 * The cluster engine against real worker processes (`berth worker`) and the real Redis: work spread
 * over several workers, a worker SIGKILLed in the middle of a mini-batch, every connection dropped
 * mid-job, a worker that joins late, and `--gpus` fanning out one process per device.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createClusterEngine } from '../../src/batch/cluster/engine.js';
import type { BatchEngine, MiniBatchOutcome, WorkerLogLine } from '../../src/batch/engine.js';
import {
  countKeys,
  dropConnections,
  redisUrl,
  removePrefix,
  startWorkerProcess,
  tasksFor,
  uniquePrefix,
  writeInputs,
  writeScript,
  type WorkerProcess,
} from './cluster-helpers.js';

const temp = await mkdtemp(join(tmpdir(), 'berth-cluster-slow-'));
after(() => rm(temp, { recursive: true, force: true }));

interface Scenario {
  prefix: string;
  dir: string;
  engine: BatchEngine;
  workers: WorkerProcess[];
  logs: WorkerLogLine[];
}

async function withScenario(name: string, body: (scenario: Scenario) => Promise<void>): Promise<void> {
  const prefix = uniquePrefix();
  const logs: WorkerLogLine[] = [];
  const engine = await createClusterEngine({
    redisUrl,
    queuePrefix: prefix,
    pollIntervalMs: 250,
    log: (line) => logs.push(line),
  });
  const scenario: Scenario = { prefix, dir: join(temp, name), engine, workers: [], logs };
  try {
    await body(scenario);
  } finally {
    await engine.close();
    for (const worker of scenario.workers) await worker.kill();
    await removePrefix(prefix);
  }
}

function startWorker(scenario: Scenario, name: string, concurrency = 1): Promise<WorkerProcess> {
  return startWorkerProcess({
    prefix: scenario.prefix,
    name,
    cacheDir: join(scenario.dir, `cache-${name}`),
    concurrency,
  }).then((worker) => {
    scenario.workers.push(worker);
    return worker;
  });
}

function assertEveryItemOnce(outcomes: MiniBatchOutcome[], items: number): void {
  assert.ok(
    outcomes.every((outcome) => outcome.status === 'succeeded'),
    JSON.stringify(outcomes.filter((outcome) => outcome.status !== 'succeeded').slice(0, 2)),
  );
  const counts = countKeys(outcomes);
  assert.equal(counts.size, items);
  assert.deepEqual([...new Set(counts.values())], [1]);
}

describe('cluster engine with worker processes', { timeout: 120_000 }, () => {
  it('spreads a job over two workers, shipping the model once and downloading it once per worker', async () => {
    await withScenario('two-workers', async (scenario) => {
      const { files, program } = await writeInputs(scenario.dir, 60, await writeScript(scenario.dir, 40));
      await Promise.all([startWorker(scenario, 'w1'), startWorker(scenario, 'w2')]);
      const first = await Promise.all(
        tasksFor('job-1', files, 3, program).map((task) => scenario.engine.execute(task)),
      );
      const second = await Promise.all(
        tasksFor('job-2', files, 3, program).map((task) => scenario.engine.execute(task)),
      );
      assertEveryItemOnce(first, 60);
      assertEveryItemOnce(second, 60);
      const byWorker = new Set(first.map((outcome) => outcome.worker));
      assert.deepEqual([...byWorker].sort(), ['w1', 'w2']);
      assert.equal(scenario.logs.filter((line) => /shipped/.test(line.line)).length, 1, 'model shipped once');
      for (const worker of scenario.workers) {
        assert.equal(worker.output().match(/ downloaded /g)?.length, 1, worker.output());
      }
    });
  });

  it('re-runs the mini-batch of a SIGKILLed worker elsewhere: every item exactly once', async () => {
    await withScenario('sigkill', async (scenario) => {
      const { files, program } = await writeInputs(scenario.dir, 40, await writeScript(scenario.dir, 600));
      const [victim] = await Promise.all([
        startWorker(scenario, 'victim'),
        startWorker(scenario, 'survivor'),
      ]);
      assert.ok(victim);
      let killed: Promise<void> | undefined;
      const outcomes = await Promise.all(
        tasksFor('job-kill', files, 4, program).map((task) =>
          scenario.engine.execute(task, undefined, {
            onStarted: (worker) => {
              // The victim has just taken this mini-batch and sleeps 600 ms in run(): kill it there.
              if (worker?.pid === victim.pid) killed ??= victim.kill();
            },
          }),
        ),
      );
      await killed;
      assert.equal(victim.child.signalCode, 'SIGKILL');
      assertEveryItemOnce(outcomes, 40);
      assert.ok(outcomes.every((outcome) => outcome.worker === 'survivor'));
      assert.ok(
        scenario.logs.some((line) => /left victim unfinished; now on survivor/.test(line.line)),
        JSON.stringify(scenario.logs),
      );
    });
  });

  it('survives every Redis connection dropping mid-job', async () => {
    await withScenario('drop', async (scenario) => {
      const { files, program } = await writeInputs(scenario.dir, 60, await writeScript(scenario.dir, 100));
      await Promise.all([startWorker(scenario, 'd1'), startWorker(scenario, 'd2')]);
      const running = Promise.all(
        tasksFor('job-drop', files, 3, program).map((task) => scenario.engine.execute(task)),
      );
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.ok((await dropConnections(scenario.prefix)) >= 6, 'the engine and both workers were connected');
      await new Promise((resolve) => setTimeout(resolve, 300));
      await dropConnections(scenario.prefix);
      assertEveryItemOnce(await running, 60);
    });
  });

  it('waits for a worker that joins late, and lets a worker leave gracefully mid-job', async () => {
    await withScenario('late', async (scenario) => {
      const { files, program } = await writeInputs(scenario.dir, 30, await writeScript(scenario.dir, 100));
      const running = Promise.all(
        tasksFor('job-late', files, 3, program).map((task) => scenario.engine.execute(task)),
      );
      await new Promise((resolve) => setTimeout(resolve, 700));
      const early = await startWorker(scenario, 'early');
      await new Promise((resolve) => setTimeout(resolve, 300));
      await startWorker(scenario, 'late');
      await early.stop();
      assert.equal(early.child.exitCode, 0);
      assert.match(early.output(), /worker early left/);
      assertEveryItemOnce(await running, 30);
    });
  });

  it('--gpus 0,1 starts one process per GPU, each seeing only its device', async () => {
    const prefix = uniquePrefix();
    const worker = await startWorkerProcess({
      prefix,
      name: 'g',
      cacheDir: join(temp, 'gpu-cache'),
      concurrency: 2,
      gpus: '0,1',
    });
    try {
      assert.match(worker.output(), /worker g-gpu0 connected .*CUDA_VISIBLE_DEVICES=0/);
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.match(worker.output(), /worker g-gpu1 connected .*CUDA_VISIBLE_DEVICES=1/);
    } finally {
      await worker.stop();
      await removePrefix(prefix);
    }
  });
});
