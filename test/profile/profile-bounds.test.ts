/** Every number `berth profile` takes is bounded, and out of bounds it exits 2 naming the flag. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runBerth, withTempDir } from '../helpers/cli.js';
import {
  concurrencySteps,
  parseDuration,
  profilePlan,
  profileSettings,
} from '../../src/sdk/profile/settings.js';
import type { ModelSignature } from '../../src/core/tensor.js';
import { percentiles } from '../../src/sdk/profile/stats.js';

const defaults = { duration: '20s', maxConcurrency: '16' };

test('profile settings: durations, steps, SLO and their bounds', () => {
  assert.equal(parseDuration('20s', '--duration'), 20_000);
  assert.equal(parseDuration('1500ms', '--duration'), 1500);
  assert.equal(parseDuration('2m', '--duration'), 120_000);
  assert.equal(parseDuration('3', '--duration'), 3000);
  assert.deepEqual(concurrencySteps(1), [1]);
  assert.deepEqual(concurrencySteps(8), [1, 2, 4, 8]);
  assert.deepEqual(concurrencySteps(12), [1, 2, 4, 8, 12]);
  const settings = profileSettings({ ...defaults, latencySlo: 'p99.9=0.5s', targetRps: '250' });
  assert.deepEqual(settings.slo, { percentile: 'p99.9', ms: 500 });
  assert.equal(settings.stepMs, 4000);
  assert.equal(settings.targetRps, 250);

  const bad: [Partial<typeof defaults> & { latencySlo?: string; targetRps?: string }, RegExp][] = [
    [{ duration: '0s' }, /--duration must be between/],
    [{ duration: '11m' }, /--duration must be between/],
    [{ duration: 'soon' }, /--duration must be a duration/],
    [{ maxConcurrency: '0' }, /--max-concurrency must be between 1 and 256/],
    [{ maxConcurrency: '257' }, /--max-concurrency must be between 1 and 256/],
    [{ maxConcurrency: '2.5' }, /--max-concurrency must be a whole number/],
    [{ duration: '1s', maxConcurrency: '256' }, /too short for 9 load steps/],
    [{ latencySlo: 'p42=5ms' }, /--latency-slo must look like p99=50ms/],
    [{ latencySlo: 'p99=0ms' }, /--latency-slo must be between/],
    [{ latencySlo: 'p99=2m' }, /--latency-slo must be between/],
    [{ targetRps: '-1' }, /--target-rps must be between/],
    [{ targetRps: 'lots' }, /--target-rps must be between/],
  ];
  for (const [flags, message] of bad) {
    assert.throws(
      () => profileSettings({ ...defaults, ...flags }),
      (error: { code?: string; message: string }) =>
        error.code === 'BAD_INPUT' && message.test(error.message),
      JSON.stringify(flags),
    );
  }
});

const signature = (first: number | string): ModelSignature => ({
  inputs: [{ name: 'x', datatype: 'FP32', shape: [first, 3] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [first, 1] }],
  opset: undefined,
  producer: undefined,
});

test('profile plan: batch sizes as the model allows, the duration shared by every step', () => {
  const plan = profilePlan(profileSettings(defaults), signature('batch'));
  assert.deepEqual(
    plan.runs.map((run) => [run.maxBatchSize, run.concurrencies]),
    [
      [1, [1, 2, 4, 8, 16]],
      [4, [2, 4, 8, 16]],
      [16, [2, 4, 8, 16]],
    ],
  );
  assert.equal(plan.stepMs, Math.floor(20_000 / 16), '13 load steps and 3 fixed-rate checks');
  // A fixed first dimension cannot batch: only batching off is tried.
  const fixed = profilePlan(profileSettings(defaults), signature(1));
  assert.deepEqual(fixed.runs, [{ maxBatchSize: 1, concurrencies: [1, 2, 4, 8, 16] }]);
  assert.equal(fixed.stepMs, Math.floor(20_000 / 6));
  assert.deepEqual(
    profilePlan(profileSettings({ ...defaults, maxConcurrency: '4' }), signature('n')).runs.map(
      (run) => run.maxBatchSize,
    ),
    [1, 4],
  );
  const chosen = profilePlan(profileSettings({ ...defaults, batchSizes: '8, 1,8' }), signature('n'));
  assert.deepEqual(
    chosen.runs.map((run) => run.maxBatchSize),
    [1, 8],
  );

  const bad: [Parameters<typeof profileSettings>[0], ModelSignature | null, RegExp][] = [
    [{ ...defaults, batchSizes: 'big' }, null, /--batch-sizes must be auto or whole numbers/],
    [{ ...defaults, batchSizes: '0' }, null, /--batch-sizes must be between 1 and 256/],
    [
      { ...defaults, batchSizes: '1,4' },
      signature(1),
      /need a model whose inputs and outputs all have a dynamic first/,
    ],
    [{ ...defaults, batchSizes: '4', maxConcurrency: '1' }, signature('n'), /need --max-concurrency 2/],
    [
      { ...defaults, duration: '3s' },
      signature('n'),
      /too short for 13 load steps and 3 fixed-rate checks .*fewer --batch-sizes/,
    ],
  ];
  for (const [flags, sig, message] of bad) {
    assert.throws(
      () => profilePlan(profileSettings(flags), sig),
      (error: { code?: string; message: string }) =>
        error.code === 'BAD_INPUT' && message.test(error.message),
      JSON.stringify(flags),
    );
  }
});

test('percentiles by nearest rank', () => {
  assert.equal(percentiles([]), undefined);
  const values = Array.from({ length: 1000 }, (_, i) => 1000 - i);
  assert.deepEqual(percentiles(values), { p50: 500, p90: 900, p95: 950, p99: 990, 'p99.9': 999 });
  assert.deepEqual(percentiles([7]), { p50: 7, p90: 7, p95: 7, p99: 7, 'p99.9': 7 });
});

test('berth profile exits 2 on a number out of bounds, before starting anything', async () => {
  await withTempDir('profile-bounds', async (dir) => {
    const workspace = join(dir, 'ws');
    for (const [args, message] of [
      [['--duration', '0s'], /--duration must be between 1000ms and 600000ms/],
      [['--max-concurrency', '1000'], /--max-concurrency must be between 1 and 256/],
      [['--latency-slo', 'p99'], /--latency-slo must look like p99=50ms/],
    ] as const) {
      const run = await runBerth(['profile', 'tiny:1', ...args], { workspace });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
    }
  });
});
