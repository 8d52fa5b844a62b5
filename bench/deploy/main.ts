/**
 * Deploy-to-ready times: the container target cold (no cached image: berth's images for the base
 * are removed first), warm (a code-only change: one small layer built), and its rolling update,
 * against the local target's deploy. Goal: a warm redeploy under 10 s. The ssh target's rows, in
 * the same run, against a real sshd on this machine (test/helpers/sshd.ts; skipped without one):
 * cold (nothing on the machine: every artifact shipped), warm (a code-only change while another
 * deployment keeps the server bundle and the model in the machine's cache: only the code ships),
 * and its rolling update. Goal: the ssh warm redeploy within 2× the container's.
 *
 *   npm run bench:deploy [-- --base-image node:20-bookworm-slim] [--runs 3] [--kubernetes-only]
 *
 * The Kubernetes rows: apply to scheduled on a control plane with no node (level 2), and deploy to
 * Available on a cluster with a node where pods run (level 3, root: bench/deploy/kubernetes-node.ts).
 *
 * Without --base-image it uses the test base image made from this machine's Node.js
 * (test/fixtures/docker-base-image.ts), so it runs where no registry is reachable.
 */
import { writeFileSync } from 'node:fs';
import { createContainerTarget } from '../../src/targets/container/index.js';
import { createLocalTarget } from '../../src/targets/local/index.js';
import { createSshTarget } from '../../src/targets/ssh/index.js';
import { sshdMissing, startSshd } from '../../test/helpers/sshd.js';
import type { ComputeTarget, ResolvedDeployment } from '../../src/targets/target.js';
import { ensureTestBaseImage, testDockerHost, testEngine } from '../../test/fixtures/docker-base-image.js';
import { echoScript, scriptDeployment, tempDir } from '../../test/targets/helpers.js';
import { kubernetesApplyToScheduled } from './kubernetes.js';
import { kubernetesApplyToAvailable } from './kubernetes-node.js';

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
      try {
        await engine.getImage(image.Id).remove({ force: true });
        removed += 1;
      } catch (error) {
        // An image another build on this engine stands on (409) stays; the cold row says how many went.
        if ((error as { statusCode?: number }).statusCode !== 409) throw error;
      }
    }
  }
  return removed;
}

function withCode(spec: ResolvedDeployment, version: string): ResolvedDeployment {
  writeFileSync(spec.scoringScript!, echoScript.replace('ok: true', `ok: "${version}"`));
  return spec;
}

/** `--kubernetes-only`: the Kubernetes rows alone (the row with a node needs the Docker Engine). */
async function kubernetesOnly(runs: number): Promise<void> {
  const dir = tempDir('bench-deploy-k8s');
  try {
    const spec = scriptDeployment(dir.path, echoScript, { endpointName: 'bench', deploymentName: 'deploy' });
    const times = await kubernetesApplyToScheduled(spec, runs, `${dir.path}/cache`);
    if (times === undefined)
      throw new Error('no Kubernetes control plane built here (scripts/kubernetes/build.sh)');
    const each = times.map((value) => `${(value / 1000).toFixed(2)} s`).join(', ');
    console.log(`kubernetes (API server, controllers, no node): apply to scheduled, ${runs} run(s): ${each}`);
    console.log(`median ${(median(times) / 1000).toFixed(2)} s`);
    const withNode = await kubernetesApplyToAvailable(
      spec,
      runs,
      `${dir.path}/cache`,
      option('--base-image') ?? (await ensureTestBaseImage()),
    );
    if (typeof withNode === 'string') console.log(`kubernetes (with a node): not run: ${withNode}`);
    else {
      const again = withNode.again.map((value) => `${(value / 1000).toFixed(2)} s`).join(', ');
      console.log(
        `kubernetes (with a node): first deploy to Available (build, push, pull, run) ${(withNode.first / 1000).toFixed(2)} s; apply to Available, image on the node, ${runs} run(s): ${again}; median ${(median(withNode.again) / 1000).toFixed(2)} s`,
      );
    }
  } finally {
    dir.remove();
  }
}

async function main(): Promise<void> {
  const runs = Number(option('--runs') ?? 3);
  if (process.argv.includes('--kubernetes-only')) return await kubernetesOnly(runs);
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
    const kubernetes = await kubernetesApplyToScheduled(spec, runs, `${dir.path}/cache`);
    const kubernetesNode = await kubernetesApplyToAvailable(spec, runs, `${dir.path}/cache`, baseImage);

    const ssh = sshdMissing() === undefined ? await sshRows(spec, runs, `${dir.path}/ssh-cache`) : undefined;

    const ms = (value: number): string => `${(value / 1000).toFixed(2)} s`;
    const rows: [string, string][] = [
      ['local: deploy to ready (median)', ms(median(localTimes))],
      [`container: cold deploy (no cached image; ${removed} image(s) removed first)`, ms(cold)],
      ['container: warm deploy, code change only (median)', ms(median(warm))],
      ['container: rolling update, code change only (median)', ms(median(rolling))],
    ];
    if (ssh !== undefined) {
      rows.push(
        ['ssh: cold deploy (nothing on the machine: every artifact shipped)', ms(ssh.cold)],
        ['ssh: warm deploy, code change only (median)', ms(median(ssh.warm))],
        ['ssh: rolling update, code change only (median)', ms(median(ssh.rolling))],
      );
    }
    rows.push([
      'kubernetes (API server, controllers, no node): apply to scheduled (median)',
      kubernetes === undefined ? 'not run: no control plane built here' : ms(median(kubernetes)),
    ]);
    if (typeof kubernetesNode === 'string') {
      rows.push(['kubernetes (with a node): deploy to Available', `not run: ${kubernetesNode}`]);
    } else {
      rows.push(
        [
          'kubernetes (with a node): first deploy to Available (build, push, pull, run)',
          ms(kubernetesNode.first),
        ],
        [
          'kubernetes (with a node): apply to Available, image on the node (median)',
          ms(median(kubernetesNode.again)),
        ],
      );
    }
    const width = Math.max(...rows.map(([label]) => label.length));
    console.log(`deploy-to-ready, ${runs} run(s) each; base image ${baseImage}; engine ${testDockerHost()}`);
    for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);
    const goal = median(warm) < 10_000;
    console.log(`goal (warm redeploy under 10 s): ${goal ? 'met' : 'MISSED'}`);
    if (!goal) process.exitCode = 1;
    if (ssh === undefined) console.log(`ssh rows skipped: ${sshdMissing()}`);
    else {
      const ratio = median(ssh.warm) / median(warm);
      console.log(
        `goal (ssh warm redeploy within 2x the container's): ${ratio <= 2 ? 'met' : 'MISSED'} (${ratio.toFixed(2)}x)`,
      );
    }
  } finally {
    await container.close();
    await local.close();
    dir.remove();
  }
}

/** The ssh target's rows, against the bench's own sshd (this machine, over a real SSH connection). */
async function sshRows(
  spec: ResolvedDeployment,
  runs: number,
  cacheDir: string,
): Promise<{ cold: number; warm: number[]; rolling: number[] }> {
  const sshd = await startSshd();
  const target = createSshTarget({
    kind: 'ssh',
    name: 'bench-ssh',
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    identity: sshd.identity,
    knownHosts: sshd.knownHosts,
    workdir: `${sshd.dir}/remote`,
    nodePath: process.execPath,
    cacheDir,
  });
  try {
    const sshSpec = { ...spec, target: 'bench-ssh' };
    // The scoring-server bundle is built here once per process: built before the clock starts, as
    // the container rows find it built too.
    const { serverBundle } = await import('../../src/targets/container/bundle.js');
    await serverBundle(cacheDir);
    const cold = await timeDeploy(target, withCode(sshSpec, `ssh-cold-${Date.now()}`));
    // Another deployment keeps the bundle and the model in the machine's cache, as a warm machine has.
    const anchor = await target.deploy(
      withCode({ ...sshSpec, deploymentName: 'anchor' }, `ssh-anchor-${Date.now()}`),
      () => undefined,
    );
    const warm: number[] = [];
    for (let run = 0; run < runs; run += 1)
      warm.push(await timeDeploy(target, withCode(sshSpec, `ssh-warm-${Date.now()}-${run}`)));
    const rolling: number[] = [];
    let handle = await target.deploy(withCode(sshSpec, `ssh-roll-${Date.now()}`), () => undefined);
    for (let run = 0; run < runs; run += 1) {
      const started = performance.now();
      handle = await target.update(
        handle,
        withCode(sshSpec, `ssh-roll-${Date.now()}-${run}`),
        () => undefined,
      );
      rolling.push(performance.now() - started);
    }
    await target.remove(handle);
    await target.remove(anchor);
    return { cold, warm, rolling };
  } finally {
    await target.close();
    await sshd.stop();
  }
}

await main();
