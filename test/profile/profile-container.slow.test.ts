/**
 * `berth profile --target` on a container target against the real Docker Engine: the trial
 * replica runs in a container built from the test base image, its memory and CPU come from the
 * engine, the result is kept with the target's name, and no container is left behind. A target
 * that does not exist, or of a kind that cannot profile, exits 2 before anything starts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildLinearModel, writeModel } from '../fixtures/onnx-builder.js';
import { dockerOrSkip, ensureTestBaseImage, labelledContainers } from '../fixtures/docker-base-image.js';
import { runBerth, withTempDir } from '../helpers/cli.js';

const skip = await dockerOrSkip();

interface Profile {
  target: { name: string; cores: number };
  batchSizes: number[];
  steps: {
    maxBatchSize: number;
    concurrency: number;
    errors: number;
    requests: number;
    cpuCores: number | null;
    peakRssBytes: number | null;
  }[];
  peakRssBytes: number | null;
  recommendation: { memoryRule: string; memoryBytes: number | null; cpu: number | null };
}

describe('berth profile on a container target', { skip }, () => {
  it('runs the trial replica in a container, reads its resources from the engine, and cleans up', async () => {
    await withTempDir('profile-container', async (dir) => {
      const workspace = join(dir, 'ws');
      assert.equal((await runBerth(['init'], { workspace })).code, 0);
      const model = writeModel(dir, 'tiny.onnx', buildLinearModel());
      assert.equal((await runBerth(['model', 'register', '-n', 'tiny', '-p', model], { workspace })).code, 0);
      const name = `prof${process.pid}`;
      const created = await runBerth(
        ['target', 'create', name, '--type', 'container', '--base-image', await ensureTestBaseImage()],
        { workspace },
      );
      assert.equal(created.code, 0, created.stderr);

      const run = await runBerth(
        [
          'profile',
          'tiny:1',
          '--target',
          name,
          '--duration',
          '3s',
          '--max-concurrency',
          '2',
          '--batch-sizes',
          '1,2',
          '--output',
          join(dir, 'out'),
          '--json',
        ],
        { workspace },
      );
      assert.equal(run.code, 0, run.stderr);
      const profile = JSON.parse(run.stdout) as Profile;
      assert.equal(profile.target.name, name);
      assert.ok(profile.target.cores >= 1);
      assert.deepEqual(
        profile.steps.map((s) => `b${s.maxBatchSize} c${s.concurrency}`),
        ['b1 c1', 'b1 c2', 'b2 c2'],
      );
      for (const step of profile.steps) {
        assert.equal(step.errors, 0, JSON.stringify(step));
        assert.ok(step.requests > 0, JSON.stringify(step));
        assert.ok(step.cpuCores !== null && step.cpuCores >= 0, JSON.stringify(step));
        // A Node.js scoring server with ONNX Runtime loaded holds well over 10 MB.
        assert.ok(step.peakRssBytes !== null && step.peakRssBytes > 10 * 2 ** 20, JSON.stringify(step));
      }
      assert.match(profile.recommendation.memoryRule, /memory of the container \(the engine's stats/);
      assert.equal(profile.recommendation.memoryBytes, Math.ceil((profile.peakRssBytes ?? 0) * 1.5));
      assert.deepEqual(await labelledContainers(name), [], 'the trial containers are removed');

      const shown = await runBerth(['model', 'show', 'tiny:1'], { workspace });
      assert.match(shown.stdout, new RegExp(`profile: +\\S+ on ${name} \\(${profile.target.cores} cores\\)`));
    });
  });

  it('exits 2 for a target that does not exist or cannot profile', async () => {
    await withTempDir('profile-container-bad', async (dir) => {
      const workspace = join(dir, 'ws');
      assert.equal((await runBerth(['init'], { workspace })).code, 0);
      const model = writeModel(dir, 'tiny.onnx', buildLinearModel());
      assert.equal((await runBerth(['model', 'register', '-n', 'tiny', '-p', model], { workspace })).code, 0);
      const missing = await runBerth(['profile', 'tiny:1', '--target', 'nowhere'], { workspace });
      assert.equal(missing.code, 2, missing.stderr);
      assert.match(missing.stderr, /--target nowhere: no such target/);
      const created = await runBerth(['target', 'create', 'far', '--type', 'ssh', '--host', '127.0.0.1'], {
        workspace,
      });
      assert.equal(created.code, 0, created.stderr);
      for (const target of ['far', 'kubernetes']) {
        const refused = await runBerth(['profile', 'tiny:1', '--target', target], { workspace });
        assert.equal(refused.code, 2, refused.stderr);
        assert.match(
          refused.stderr,
          new RegExp(`--target ${target}: a target of kind \\w+ cannot run a profile`),
        );
      }
    });
  });
});
