/**
 * Profile figures on this machine, for the ONNX OCR direction classifier and its example request:
 *
 * - run time: `berth profile`'s default run (20 s of load, steps 1 … 16 clients, max_batch_size
 *   1, 4 and 16 where the model batches) from start to the written result, trial replica starts
 *   included.
 * - accuracy: a fresh trial replica (the recommended max_batch_size) is then driven by open-loop
 *   load at a fixed rate, the profile's max sustained RPS, for 10 s; the figure is what it
 *   sustains within the SLO against that rate, as a ratio (goal: within 15%, i.e. 0.85 or more,
 *   and a run at 1.15 x the rate misses the SLO or the rate, so the profile did not undersell it).
 *
 *   npm run bench:profile [-- --target local|container] [--slo p99=250ms] [--duration 20s]
 *
 * The container target uses the test base image made from this machine's Node.js
 * (test/fixtures/docker-base-image.ts), so it runs where no registry is reachable.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { profilePlan, profileSettings, runProfile } from '../../src/sdk/profile/index.js';
import { withinSlo } from '../../src/sdk/profile/recommend.js';
import type { ProfileSamples } from '../../src/sdk/profile/samples.js';
import { openProfileSite } from '../../src/sdk/profile/site.js';
import type { TrialSite } from '../../src/sdk/profile/trial.js';
import { Workspace } from '../../src/sdk/workspace.js';
import { ensureTestBaseImage } from '../../test/fixtures/docker-base-image.js';
import { ppocrClassifierPath } from '../../test/fixtures/paths.js';
import { repoRoot } from '../../test/helpers/cli.js';
import { tempDir } from '../../test/targets/helpers.js';
import { fixedRate, type FixedRateResult } from '../../src/sdk/profile/fixed-rate.js';

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

const FIXED_RUN_MS = 10_000;

async function main(): Promise<void> {
  const kind = option('--target') ?? 'local';
  const settings = profileSettings({
    duration: option('--duration') ?? '20s',
    maxConcurrency: '16',
    latencySlo: option('--slo') ?? 'p99=250ms',
  });
  const slo = settings.slo!;
  const dir = tempDir('bench-profile');
  const workspace = await Workspace.init({ dir: join(dir.path, 'ws') });
  let site: TrialSite | undefined;
  try {
    const registered = await workspace.models.register({ name: 'ocr-cls', path: ppocrClassifierPath });
    const local = await workspace.models.localFiles(`ocr-cls:${registered.version}`);
    const model = {
      name: 'ocr-cls',
      version: String(registered.version),
      framework: local.model.framework,
      modelDir: local.modelDir,
      modelFile: local.modelFile,
      signature: local.model.signature,
    };
    if (kind === 'container') {
      await workspace.targets.create({
        name: 'bench-docker',
        kind: 'container',
        settings: { baseImage: await ensureTestBaseImage() },
      });
    }
    site = await openProfileSite(
      workspace,
      kind === 'container' ? 'bench-docker' : 'local',
      model,
      () => undefined,
    );
    const body = JSON.stringify(
      JSON.parse(readFileSync(join(repoRoot, 'examples/endpoints/ocr/request.json'), 'utf8')),
    );
    const samples: ProfileSamples = { source: 'file', requests: [{ path: '/score', body }] };
    const plan = profilePlan(settings, model.signature);

    const started = performance.now();
    const result = await runProfile(site, model, samples, settings, plan, join(dir.path, 'out'));
    const runMs = performance.now() - started;
    const rate = result.maxSustainedRps;
    const batch = result.recommendation.maxBatchSize ?? 1;
    const steps = result.steps
      .map(
        (step) =>
          `b${step.maxBatchSize}c${step.concurrency}: ${step.rps} rps ${slo.percentile} ${step.latencyMs?.[slo.percentile] ?? '-'} ms${step.withinSlo ? '' : ' (out)'}`,
      )
      .join('; ');
    const rows: [string, string][] = [
      ['profile run time (20 s of load, trial replicas included)', `${(runMs / 1000).toFixed(1)} s`],
      ['  steps (b: max_batch_size, c: clients)', steps],
      ['recommended max RPS within the SLO', rate === null ? 'none' : String(rate)],
      [
        'recommended max_batch_size / concurrency',
        `${batch} / ${result.recommendation.maxConcurrentRequestsPerInstance ?? '-'}`,
      ],
    ];
    let verdict = 'no step within the SLO: nothing to check';
    if (rate !== null) {
      const runAt = async (rps: number): Promise<FixedRateResult & { within: boolean }> => {
        const replica = await site!.start({ maxConcurrency: settings.maxConcurrency, maxBatchSize: batch });
        try {
          const fixed = await fixedRate(replica.url, samples.requests, replica.headers, rps, FIXED_RUN_MS);
          const within =
            withinSlo({ errors: fixed.errors + fixed.dropped, latencyMs: fixed.latencyMs ?? null }, slo) &&
            fixed.achievedRps >= rps * 0.97;
          return { ...fixed, within };
        } finally {
          await replica.stop();
        }
      };
      const describe = (run: FixedRateResult & { within: boolean }): string =>
        `${run.achievedRps} rps answered, ${slo.percentile} ${run.latencyMs?.[slo.percentile] ?? '-'} ms, ${run.errors + run.dropped} failed: ${run.within ? 'within' : 'outside'} the SLO`;
      const at = await runAt(rate);
      rows.push([`fixed load at ${rate} rps for ${FIXED_RUN_MS / 1000} s`, describe(at)]);
      let sustained = at.within ? rate : 0;
      if (at.within) {
        const above = await runAt(Math.round(rate * 1.15 * 10) / 10);
        rows.push([`fixed load at 1.15 x (${above.rps} rps)`, describe(above)]);
        if (above.within) sustained = above.rps;
      } else {
        const below = await runAt(Math.round(rate * 0.85 * 10) / 10);
        rows.push([`fixed load at 0.85 x (${below.rps} rps)`, describe(below)]);
        if (below.within) sustained = below.rps;
      }
      const ratio = sustained / rate;
      rows.push(['sustained within the SLO / recommended', sustained === 0 ? '< 0.85' : ratio.toFixed(2)]);
      verdict = `goal (within 15%): ${sustained !== 0 && ratio >= 0.85 && ratio < 1.15 ? 'met' : 'MISSED'}`;
    }
    const width = Math.max(...rows.map(([label]) => label.length));
    console.log(
      `berth profile on ${result.target.name} (${result.target.cores} cores), SLO ${slo.percentile} ${slo.ms} ms, model ocr-cls`,
    );
    for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);
    console.log(verdict);
  } finally {
    await site?.close();
    await workspace.close();
    dir.remove();
  }
}

await main();
