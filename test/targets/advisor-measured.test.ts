/** Sizing from a saved profile: measured memory and rate replace the 150%-of-the-file rule. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recommendTarget, type MeasuredSizing } from '../../src/targets/advisor.js';

const measured: MeasuredSizing = {
  source: 'berth profile of m:1 on 2026-12-07 (local, 2 cores)',
  peakRssBytes: 200 * 2 ** 20,
  memoryBytes: 300 * 2 ** 20,
  cpu: 0.7,
  maxSustainedRps: 40,
  maxConcurrentRequestsPerInstance: 8,
  maxBatchSize: 4,
};

test('a profiled model is sized from its measured peak and rate', () => {
  const advice = recommendTarget({
    mode: 'realtime',
    modelBytes: 2 ** 20,
    requestsPerSecond: 100,
    measured,
    stage: 'test',
  });
  assert.equal(advice.sizing.memoryBytes, 300 * 2 ** 20);
  assert.equal(advice.sizing.instanceCount, 3);
  const text = advice.sizing.advice.join('\n');
  assert.match(text, /150% of the 200 MB peak measured by berth profile of m:1/);
  assert.match(text, /and 0\.7 CPU/);
  assert.match(text, /max_concurrent_requests_per_instance to 8/);
  assert.match(text, /batching: \{enabled: true, max_batch_size: 4\}/);
  assert.match(text, /run 3 replicas for 100 requests\/s \(one sustained 40 requests\/s\)/);
});

test('a profile whose best step ran without batching says to leave it off; an old one says nothing', () => {
  const off = recommendTarget({ mode: 'realtime', measured: { ...measured, maxBatchSize: 1 }, stage: 'dev' });
  assert.match(off.sizing.advice.join('\n'), /leave batching off/);
  const old = recommendTarget({
    mode: 'realtime',
    measured: { ...measured, maxBatchSize: null },
    stage: 'dev',
  });
  assert.doesNotMatch(old.sizing.advice.join('\n'), /batching/);
});

test('production keeps two replicas even when one carries the load', () => {
  const advice = recommendTarget({ mode: 'realtime', requestsPerSecond: 10, measured });
  assert.equal(advice.sizing.instanceCount, 2);
});

test('a profile with no step within the SLO says to scale up before scaling out', () => {
  const advice = recommendTarget({
    mode: 'realtime',
    requestsPerSecond: 10,
    measured: { ...measured, maxSustainedRps: null },
    stage: 'dev',
  });
  assert.equal(advice.sizing.instanceCount, 1);
  assert.match(advice.sizing.advice.join('\n'), /no load step stayed within the SLO: scale up/);
});

test('the measured memory decides which targets can hold the model', () => {
  const huge: MeasuredSizing = { ...measured, memoryBytes: 64 * 2 ** 30 };
  const advice = recommendTarget({ mode: 'realtime', modelBytes: 2 ** 20, measured: huge });
  const container = advice.ruledOut.find((choice) => choice.target === 'container');
  assert.ok(container !== undefined, JSON.stringify(advice.ruledOut));
  assert.match(container.reason, /needs 64 GB to start/);
});
