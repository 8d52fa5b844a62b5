/**
 * `berth profile` on a tiny ONNX model through the real executable: a short run (2 s, steps 1, 2
 * and 4), its JSON checked for shape and for numbers that agree with each other (no figure is
 * compared with a fixed time), the SVG written beside it, and a samples file used as given.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildLinearModel, writeModel } from '../fixtures/onnx-builder.js';
import { runBerth, withTempDir } from '../helpers/cli.js';

interface Step {
  maxBatchSize: number;
  concurrency: number;
  durationMs: number;
  requests: number;
  errors: number;
  rps: number;
  latencyMs: Record<'p50' | 'p90' | 'p95' | 'p99' | 'p99.9', number> | null;
  cpuCores: number | null;
  peakRssBytes: number | null;
  withinSlo: boolean;
}

interface Profile {
  model: { name: string; version: string };
  target: { name: string; cores: number };
  batchSizes: number[];
  samples: { source: string; count: number };
  slo: { percentile: string; ms: number } | null;
  steps: Step[];
  peakRssBytes: number | null;
  confirmations: {
    maxBatchSize: number;
    concurrency: number;
    rps: number;
    achievedRps: number;
    errors: number;
    withinSlo: boolean;
  }[];
  maxSustainedRps: number | null;
  recommendation: {
    memoryBytes: number | null;
    memory: string | null;
    memoryRule: string;
    cpu: number | null;
    maxConcurrentRequestsPerInstance: number | null;
    maxBatchSize: number | null;
    targetRps: number | null;
    instances: number | null;
  };
  files: { json: string; svg: string };
}

async function registeredLinear(dir: string): Promise<string> {
  const workspace = join(dir, 'ws');
  assert.equal((await runBerth(['init'], { workspace })).code, 0);
  const model = writeModel(dir, 'tiny.onnx', buildLinearModel());
  const registered = await runBerth(['model', 'register', '-n', 'tiny', '-p', model], { workspace });
  assert.equal(registered.code, 0, registered.stderr);
  return workspace;
}

test('berth profile measures rising concurrency and recommends from the measurements', async () => {
  await withTempDir('profile', async (dir) => {
    const workspace = await registeredLinear(dir);
    const output = join(dir, 'out');
    const run = await runBerth(
      [
        'profile',
        'tiny:1',
        '--duration',
        '2s',
        '--max-concurrency',
        '4',
        '--latency-slo',
        'p99=10s',
        '--target-rps',
        '100000',
        '--output',
        output,
        '--json',
      ],
      { workspace },
    );
    assert.equal(run.code, 0, run.stderr);
    const profile = JSON.parse(run.stdout) as Profile;
    assert.deepEqual(profile.model, { name: 'tiny', version: '1' });
    assert.deepEqual(profile.samples, { source: 'signature', count: 1 });
    assert.deepEqual(profile.slo, { percentile: 'p99', ms: 10_000 });
    assert.equal(profile.target.name, 'local');
    // The model has a batch dimension: batching off over every step, then max_batch_size 4 from
    // two clients up (16 is above --max-concurrency 4, which could never fill it).
    assert.deepEqual(profile.batchSizes, [1, 4]);
    assert.deepEqual(
      profile.steps.map((s) => `b${s.maxBatchSize} c${s.concurrency}`),
      ['b1 c1', 'b1 c2', 'b1 c4', 'b4 c2', 'b4 c4'],
    );
    for (const step of profile.steps) {
      const seen = JSON.stringify(step);
      assert.equal(step.errors, 0, seen);
      assert.ok(step.requests > 0, `c=${step.concurrency} answered requests`);
      // RPS is what was answered over the step's measured time.
      const rps = step.requests / (step.durationMs / 1000);
      assert.ok(
        Math.abs(step.rps - rps) <= rps * 0.01 + 0.2,
        `c=${step.concurrency}: rps ${step.rps} vs ${rps}`,
      );
      const l = step.latencyMs;
      assert.ok(l !== null);
      assert.ok(l.p50 > 0 && l.p50 <= l.p90 && l.p90 <= l.p95 && l.p95 <= l.p99 && l.p99 <= l['p99.9'], seen);
      // c clients are busy at most c x the step's time, and half the answers took at least p50:
      // so requests x p50 / 2 <= c x time, i.e. rps <= 2c / p50.
      assert.ok(step.rps <= (2 * step.concurrency * 1000) / l.p50 + 1, seen);
      assert.ok(step.cpuCores !== null && step.cpuCores >= 0, seen);
      assert.ok(step.peakRssBytes !== null && step.peakRssBytes > 10 * 2 ** 20, seen);
      assert.equal(step.withinSlo, l.p99 <= 10_000, seen);
    }
    // Each run's best step is offered at a fixed rate, then lower ones until one is sustained.
    for (const size of profile.batchSizes) {
      const run = profile.steps.filter((s) => s.maxBatchSize === size && s.withinSlo);
      const top = run.reduce((a, b) => (b.rps > a.rps ? b : a));
      const checks = profile.confirmations.filter((c) => c.maxBatchSize === size);
      assert.ok(checks.length >= 1 && checks.length <= 3, JSON.stringify(checks));
      assert.deepEqual(checks[0] && [checks[0].concurrency, checks[0].rps], [top.concurrency, top.rps]);
      checks.forEach((check, i) => {
        const kept = check.errors === 0 && check.achievedRps >= check.rps * 0.95;
        assert.equal(check.withinSlo, kept, JSON.stringify(check));
        // Only the last check may be sustained; each next rate is 85% of the last, or 90% of
        // what it answered when that is lower.
        if (i < checks.length - 1) {
          assert.equal(check.withinSlo, false, JSON.stringify(checks));
          const expected = Math.min(check.rps * 0.85, check.achievedRps * 0.9);
          assert.equal(checks[i + 1]!.rps, Math.round(expected * 10) / 10);
          assert.equal(checks[i + 1]!.concurrency, top.concurrency);
        }
      });
    }
    // The tiny model answers far faster than the 10 s SLO: some rate is sustained.
    const best = Math.max(...profile.confirmations.filter((c) => c.withinSlo).map((c) => c.rps));
    assert.ok(best > 0, JSON.stringify(profile.confirmations));
    assert.equal(profile.maxSustainedRps, best);
    const sustained = profile.confirmations.find((c) => c.withinSlo && c.rps === best);
    const bestStep = profile.steps.find(
      (s) => s.maxBatchSize === sustained?.maxBatchSize && s.concurrency === sustained.concurrency,
    );
    const r = profile.recommendation;
    assert.equal(r.maxConcurrentRequestsPerInstance, bestStep?.concurrency);
    assert.equal(r.maxBatchSize, bestStep?.maxBatchSize);
    assert.ok(profile.peakRssBytes !== null);
    // The run's peak is at least every step's sampled peak.
    assert.ok(profile.peakRssBytes >= Math.max(...profile.steps.map((s) => s.peakRssBytes ?? 0)), run.stdout);
    assert.equal(r.memoryBytes, Math.ceil(profile.peakRssBytes * 1.5));
    assert.match(r.memoryRule, /x 1\.5/);
    assert.equal(r.memory, `${Math.ceil((r.memoryBytes ?? 0) / 2 ** 20)}Mi`);
    assert.ok(r.cpu !== null && r.cpu >= 0.1);
    assert.equal(r.targetRps, 100_000);
    assert.equal(r.instances, Math.ceil(100_000 / best));

    assert.equal(profile.files.json, join(output, 'profile.json'));
    assert.deepEqual(JSON.parse(readFileSync(profile.files.json, 'utf8')), profile);
    const svg = readFileSync(join(output, 'latency.svg'), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((svg.match(/<polyline /g) ?? []).length, 2, 'a p50 and a p99 line');
    // The plot shows the recommended max_batch_size's steps.
    const plotted = profile.steps.filter((s) => s.maxBatchSize === bestStep?.maxBatchSize).length;
    assert.equal((svg.match(/<circle /g) ?? []).length, 2 * plotted, 'one point per step and line');
    assert.match(svg, new RegExp(`max_batch_size ${bestStep?.maxBatchSize}`));
    assert.match(svg, /stroke-dasharray="4 3"\/><text [^>]*>SLO p99 10000ms<\/text>/);

    // The result is kept with the version, and sizing advice starts from it.
    const shown = await runBerth(['model', 'show', 'tiny:1', '--json'], { workspace });
    assert.equal(shown.code, 0, shown.stderr);
    const kept = (JSON.parse(shown.stdout) as { profile: Record<string, unknown> | null }).profile;
    assert.ok(kept !== null, shown.stdout);
    assert.equal(kept.maxSustainedRps, best);
    assert.equal(kept.peakRssBytes, profile.peakRssBytes);
    assert.equal(kept.target, 'local');
    assert.deepEqual(kept.recommendation, {
      memoryBytes: r.memoryBytes,
      cpu: r.cpu,
      maxConcurrentRequestsPerInstance: r.maxConcurrentRequestsPerInstance,
      maxBatchSize: r.maxBatchSize,
    });
    const text = await runBerth(['model', 'show', 'tiny:1'], { workspace });
    assert.match(
      text.stdout,
      new RegExp(`profile: +\\S+ on local \\(\\d+ cores\\): max ${best} rps within the SLO`),
    );
    const rps = Math.ceil(best * 2.5);
    const advice = await runBerth(
      ['target', 'recommend', '--model', 'tiny:1', '--rps', String(rps), '--json'],
      {
        workspace,
      },
    );
    assert.equal(advice.code, 0, advice.stderr);
    const sizing = (
      JSON.parse(advice.stdout) as {
        sizing: { memoryBytes: number; instanceCount: number; advice: string[] };
      }
    ).sizing;
    assert.equal(sizing.memoryBytes, r.memoryBytes);
    assert.equal(sizing.instanceCount, Math.max(2, Math.ceil(rps / best)));
    assert.ok(
      sizing.advice.some((line) => line.includes(`one sustained ${best} requests/s`)),
      advice.stdout,
    );
    assert.ok(
      sizing.advice.some((line) => line.includes('berth profile of tiny:1')),
      advice.stdout,
    );
    assert.ok(
      sizing.advice.some((line) =>
        r.maxBatchSize === 1
          ? line.includes('leave batching off')
          : line.includes(`max_batch_size: ${r.maxBatchSize}}`),
      ),
      advice.stdout,
    );
  });
});

test('berth profile sends the samples file as given, and stops on a sample the model refuses', async () => {
  await withTempDir('profile-samples', async (dir) => {
    const workspace = await registeredLinear(dir);
    const samples = join(dir, 'samples.jsonl');
    writeFileSync(
      samples,
      `${JSON.stringify({ data: [[1, 2, 3]] })}\n\n${JSON.stringify({ data: [[0, 0, 0]] })}\n`,
    );
    const output = join(dir, 'out');
    const run = await runBerth(
      [
        'profile',
        'tiny',
        '--requests',
        samples,
        '--duration',
        '2s',
        '--max-concurrency',
        '2',
        '--batch-sizes',
        '1,2',
        '--output',
        output,
        '--no-save',
      ],
      { workspace },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, /kept with model/);
    assert.match((await runBerth(['model', 'show', 'tiny:1'], { workspace })).stdout, /profile: +none/);
    assert.match(run.stdout, /^BATCH +CONCURRENCY +RPS +P50 MS/m);
    assert.match(run.stdout, /^profiled on local \(\d+ cores\)$/m);
    assert.match(run.stdout, /max_batch_size (1 \(batching off\)|2)/);
    assert.match(run.stdout, /max sustained RPS within the SLO: \d/);
    assert.match(run.stdout, /memory \d+Mi \(measured peak RSS of the server process x 1\.5\)/);
    const profile = JSON.parse(readFileSync(join(output, 'profile.json'), 'utf8')) as Profile;
    assert.deepEqual(profile.samples, { source: 'file', count: 2 });
    assert.deepEqual(
      profile.steps.map((s) => `b${s.maxBatchSize} c${s.concurrency}`),
      ['b1 c1', 'b1 c2', 'b2 c2'],
    );
    assert.equal(profile.slo, null);
    assert.ok(existsSync(join(output, 'latency.svg')));

    writeFileSync(samples, `${JSON.stringify({ data: [[1, 2]] })}\n`);
    const refused = await runBerth(
      [
        'profile',
        'tiny:1',
        '--requests',
        samples,
        '--duration',
        '1s',
        '--max-concurrency',
        '1',
        '--output',
        join(dir, 'refused'),
      ],
      { workspace },
    );
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /warm-up request failed: HTTP 400 from \/score/);
    assert.equal(existsSync(join(dir, 'refused', 'profile.json')), false);
  });
});
