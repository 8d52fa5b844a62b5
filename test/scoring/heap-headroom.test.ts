import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { oldSpaceFloorMiB, scoringProcessFlags, semiSpaceMiB } from '../../src/core/heap-headroom.js';
import { serverCommand } from '../../src/targets/container/build-context.js';

const MiB = 2 ** 20;

test('the old-space floor is an eighth of the memory limit, between 16 and 64 MiB', () => {
  assert.equal(oldSpaceFloorMiB(undefined), 64);
  assert.equal(oldSpaceFloorMiB(8 * 1024 * MiB), 64);
  assert.equal(oldSpaceFloorMiB(256 * MiB), 32);
  assert.equal(oldSpaceFloorMiB(64 * MiB), 16);
  assert.equal(oldSpaceFloorMiB(Number.NaN), 64);
});

test('the semi-space is a sixteenth of the memory limit, between 16 and 64 MiB', () => {
  assert.equal(semiSpaceMiB(undefined), 64);
  assert.equal(semiSpaceMiB(8 * 1024 * MiB), 64);
  assert.equal(semiSpaceMiB(512 * MiB), 32);
  assert.equal(semiSpaceMiB(128 * MiB), 16);
  assert.equal(semiSpaceMiB(Number.NaN), 64);
});

test('node accepts the scoring process flags, and the container image starts its server with them', () => {
  const flags = scoringProcessFlags(512 * MiB);
  assert.deepEqual(flags, ['--initial-old-space-size=64', '--max-semi-space-size=32']);
  // An option node does not know fails the process: this catches a misspelt flag.
  const run = spawnSync(process.execPath, [...flags, '-e', 'process.exit(0)'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const bad = spawnSync(process.execPath, ['--initial-old-space-sise=64', '-e', '0'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0, 'a misspelt option is refused, so the check above means something');
  assert.deepEqual(serverCommand.slice(0, 3), ['node', ...scoringProcessFlags()]);
});
