import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatherDelay } from '../../src/batch/cluster/gather-delay.js';

test('the event reader gathers for half the shortest recent mini-batch, between 1 and 50 ms', () => {
  const delay = new GatherDelay();
  assert.equal(delay.ms, 5, 'before any mini-batch finished');
  delay.record(40);
  delay.record(24);
  delay.record(60);
  assert.equal(delay.ms, 12);
  delay.record(1000);
  assert.equal(delay.ms, 12, 'a long one does not stretch the wait');
  for (let i = 0; i < 16; i += 1) delay.record(1000);
  assert.equal(delay.ms, 50, 'only the recent ones count, and the wait is capped');
  delay.record(0);
  assert.equal(delay.ms, 1);
});
