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
  samples: { source: string; count: number };
  slo: { percentile: string; ms: number } | null;
  steps: Step[];
  peakRssBytes: number | null;
  maxSustainedRps: number | null;
  recommendation: {
    memoryBytes: number | null;
    memory: string | null;
    memoryRule: string;
    cpu: number | null;
    maxConcurrentRequestsPerInstance: number | null;
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
    assert.deepEqual(
      profile.steps.map((s) => s.concurrency),
      [1, 2, 4],
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
    const best = Math.max(...profile.steps.filter((s) => s.withinSlo).map((s) => s.rps));
    assert.equal(profile.maxSustainedRps, best);
    const bestStep = profile.steps.find((s) => s.withinSlo && s.rps === best);
    const r = profile.recommendation;
    assert.equal(r.maxConcurrentRequestsPerInstance, bestStep?.concurrency);
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
    assert.equal((svg.match(/<circle /g) ?? []).length, 6, 'one point per step and line');
    assert.match(svg, /stroke-dasharray="4 3"\/><text [^>]*>SLO p99 10000ms<\/text>/);
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
        '1s',
        '--max-concurrency',
        '2',
        '--output',
        output,
      ],
      { workspace },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^CONCURRENCY +RPS +P50 MS/m);
    assert.match(run.stdout, /max sustained RPS within the SLO: \d/);
    assert.match(run.stdout, /memory \d+Mi \(measured peak RSS of the server process x 1\.5\)/);
    const profile = JSON.parse(readFileSync(join(output, 'profile.json'), 'utf8')) as Profile;
    assert.deepEqual(profile.samples, { source: 'file', count: 2 });
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
