/**
 * Deploy-to-ready times: the container target cold (no cached image: berth's images for the base
 * are removed first), warm (a code-only change: one small layer built), and its rolling update,
 * against the local target's deploy. Goal: a warm redeploy under 10 s.
 *
 *   npm run bench:deploy [-- --base-image node:20-bookworm-slim] [--runs 3]
 *
 * Without --base-image it uses the test base image made from this machine's Node.js
 * (test/fixtures/docker-base-image.ts), so it runs where no registry is reachable.
 */
import { writeFileSync } from 'node:fs';
import { createContainerTarget } from '../../src/targets/container/index.js';
import { createLocalTarget } from '../../src/targets/local/index.js';
import type { ComputeTarget, ResolvedDeployment } from '../../src/targets/target.js';
import { ensureTestBaseImage, testDockerHost, testEngine } from '../../test/fixtures/docker-base-image.js';
import { echoScript, scriptDeployment, tempDir } from '../../test/targets/helpers.js';

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function timeDeploy(target: ComputeTarget, spec: ResolvedDeployment): Promise<number> {
  const started = performance.now();
  const handle = await target.deploy(spec, () => undefined);
  const took = performance.now() - started;
  await target.remove(handle);
  return took;
}

/** Removes berth's images built on `baseImage`, newest layer first, so the next deploy is cold. */
async function removeCachedImages(baseImage: string): Promise<number> {
  const engine = testEngine();
  let removed = 0;
  for (const layer of ['app', 'model', 'server']) {
    const images = await engine.listImages({
      filters: JSON.stringify({
        label: ['berth.managed=true', `berth.layer=${layer}`, `berth.base-image=${baseImage}`],
      }),
    });
    for (const image of images) {
      await engine.getImage(image.Id).remove({ force: true });
      removed += 1;
    }
  }
  return removed;
}

function withCode(spec: ResolvedDeployment, version: string): ResolvedDeployment {
  writeFileSync(spec.scoringScript!, echoScript.replace('ok: true', `ok: "${version}"`));
  return spec;
}

async function main(): Promise<void> {
  const runs = Number(option('--runs') ?? 3);
  const baseImage = option('--base-image') ?? (await ensureTestBaseImage());
  const dir = tempDir('bench-deploy');
  const local = createLocalTarget({ kind: 'local', logsDir: `${dir.path}/logs` });
  const container = createContainerTarget({
    kind: 'container',
    name: 'bench',
    baseImage,
    dockerHost: testDockerHost(),
    cacheDir: `${dir.path}/cache`,
  });
  try {
    const spec = scriptDeployment(dir.path, echoScript, { endpointName: 'bench', deploymentName: 'deploy' });
    const localTimes: number[] = [];
    for (let run = 0; run < runs; run += 1)
      localTimes.push(await timeDeploy(local, withCode(spec, `local-${run}`)));

    const removed = await removeCachedImages(baseImage);
    const containerSpec = { ...spec, target: 'bench' };
    const cold = await timeDeploy(container, withCode(containerSpec, `cold-${Date.now()}`));
    const warm: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      warm.push(await timeDeploy(container, withCode(containerSpec, `warm-${Date.now()}-${run}`)));
    }
    const rolling: number[] = [];
    let handle = await container.deploy(withCode(containerSpec, `roll-${Date.now()}`), () => undefined);
    for (let run = 0; run < runs; run += 1) {
      const started = performance.now();
      handle = await container.update(
        handle,
        withCode(containerSpec, `roll-${Date.now()}-${run}`),
        () => undefined,
      );
      rolling.push(performance.now() - started);
    }
    await container.remove(handle);

    const ms = (value: number): string => `${(value / 1000).toFixed(2)} s`;
    const rows: [string, string][] = [
      ['local: deploy to ready (median)', ms(median(localTimes))],
      [`container: cold deploy (no cached image; ${removed} image(s) removed first)`, ms(cold)],
      ['container: warm deploy, code change only (median)', ms(median(warm))],
      ['container: rolling update, code change only (median)', ms(median(rolling))],
    ];
    const width = Math.max(...rows.map(([label]) => label.length));
    console.log(`deploy-to-ready, ${runs} run(s) each; base image ${baseImage}; engine ${testDockerHost()}`);
    for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);
    const goal = median(warm) < 10_000;
    console.log(`goal (warm redeploy under 10 s): ${goal ? 'met' : 'MISSED'}`);
    if (!goal) process.exitCode = 1;
  } finally {
    await container.close();
    await local.close();
    dir.remove();
  }
}

await main();
