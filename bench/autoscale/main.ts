/**
 * Autoscaling figures on this machine, for the ONNX OCR direction classifier served from its
 * signature behind the real gateway:
 *
 * - reaction: a load step from 1 to 32 clients; the time from the step to the added replica
 *   serving (it reports requests arrived in its `load`), with the default polling_interval and
 *   scale_up_delay (1 s each). Goal: under 5 s on local.
 * - cold start: a deployment scaled to zero; the first request's latency (held by the gateway
 *   while a replica starts) against the median warm latency after it.
 *
 *   npm run bench:autoscale [-- --target local|container|ssh] [--runs 3]
 *
 * BENCH_TRACE=1 prints the autoscaler's last poll every 0.5 s during each load step.
 *
 * The container target uses the test base image made from this machine's Node.js
 * (test/fixtures/docker-base-image.ts), so it runs where no registry is reachable. The ssh target
 * runs its replicas on the tests' own sshd (test/helpers/sshd.ts: as root, a separate user in a
 * network namespace), so each replica starts over a real SSH connection and is reached through
 * its port forward.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TargetUtilization } from '../../src/core/specs/scale-settings.js';
import { startGateway } from '../../src/endpoints/index.js';
import { readLoad } from '../../src/targets/autoscale/load.js';
import { createLocalTarget } from '../../src/targets/local/index.js';
import type { ComputeTarget, DeploymentHandle, ResolvedDeployment } from '../../src/targets/target.js';
import { createTestContainerTarget } from '../../test/fixtures/docker-base-image.js';
import { sshFixture } from '../../test/targets/ssh/fixture.js';
import { repoRoot } from '../../test/helpers/cli.js';
import { send, sleep, steadyLoad } from '../../test/helpers/http.js';
import { deploymentSpec, tempDir } from '../../test/targets/helpers.js';
import { prepareModels } from '../serve/models.js';

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const ms = (value: number): string => `${Math.round(value)} ms`;

interface Target {
  target: ComputeTarget & Required<Pick<ComputeTarget, 'currentReplicas' | 'awaitReplica'>>;
  name: string;
  close(): Promise<void>;
}

async function openTarget(kind: string, dir: string): Promise<Target> {
  if (kind === 'container') {
    const fixture = await createTestContainerTarget(`bench${process.pid}`);
    return { target: fixture.target, name: `bench${process.pid}`, close: () => fixture.cleanup() };
  }
  if (kind === 'ssh') {
    const fixture = await sshFixture(`bench${process.pid}`);
    return { target: fixture.target, name: `bench${process.pid}`, close: () => fixture.cleanup() };
  }
  if (kind !== 'local') throw new Error(`--target ${kind}: expected local, container or ssh`);
  const target = createLocalTarget({ kind: 'local', logsDir: join(dir, 'logs') });
  return { target, name: 'local', close: () => target.close() };
}

async function main(): Promise<void> {
  const kind = option('--target') ?? 'local';
  const runs = Number(option('--runs') ?? 3);
  const dir = tempDir('bench-autoscale');
  const { ocr } = await prepareModels();
  const body = JSON.parse(
    readFileSync(join(repoRoot, 'examples/endpoints/ocr/request.json'), 'utf8'),
  ) as unknown;
  const opened = await openTarget(kind, dir.path);
  const { target } = opened;
  const gateway = await startGateway();
  const model: ResolvedDeployment['model'] = {
    name: ocr.name,
    version: 1,
    framework: 'onnx',
    modelDir: dirname(ocr.file),
    modelFile: ocr.file,
    sha256: '0'.repeat(64),
    sizeBytes: readFileSync(ocr.file).byteLength,
    signature: ocr.signature,
  };
  const spec = (name: string, scale: TargetUtilization): ResolvedDeployment =>
    deploymentSpec(model, {
      target: opened.name,
      endpointName: 'bench',
      deploymentName: name,
      requestSettings: {
        requestTimeoutMs: 30_000,
        maxConcurrentRequestsPerInstance: 16,
        maxQueueWaitMs: 500,
      },
      scaleSettings: scale,
    });
  const route = (resolved: ResolvedDeployment, handle: DeploymentHandle): string => {
    const scale = resolved.scaleSettings as TargetUtilization;
    gateway.setEndpoint({
      name: resolved.deploymentName,
      authMode: 'none',
      keys: undefined,
      traffic: { [resolved.deploymentName]: 100 },
      mirror: {},
      deployments: [
        {
          name: resolved.deploymentName,
          requestSettings: resolved.requestSettings,
          instanceCount: scale.maxInstances,
          replicas: () => target.currentReplicas(handle),
          awaitReplica: (timeoutMs) => target.awaitReplica(handle, timeoutMs),
        },
      ],
    });
    return `${gateway.url}/endpoints/${resolved.deploymentName}/score`;
  };
  const base: TargetUtilization = {
    type: 'target_utilization',
    minInstances: 1,
    maxInstances: 4,
    targetUtilizationPercentage: 70,
    pollingIntervalMs: 1000,
    scaleUpDelayMs: 1000,
    scaleDownDelayMs: 60_000,
    idleTimeoutMs: 300_000,
  };
  try {
    const reactions: number[] = [];
    const ready: number[] = [];
    const phases: { seen: number; decided: number; started: number; serving: number }[] = [];
    let refused = 0;
    let answered = 0;
    for (let run = 0; run < runs; run += 1) {
      const resolved = spec(`step${run}`, base);
      const handle = await target.deploy(resolved, () => undefined);
      const url = route(resolved, handle);
      const first = new Set(target.currentReplicas(handle).map((replica) => replica.id));
      const low = steadyLoad(() => send(url, { body }), { clients: 1, maxMs: 60_000 });
      await sleep(3000);
      const step = performance.now();
      const high = steadyLoad(() => send(url, { body }), { clients: 31, maxMs: 120_000 });
      let aboveAt: number | undefined;
      let decidedAt: number | undefined;
      let readyAt: number | undefined;
      let servingAt: number | undefined;
      while (servingAt === undefined && performance.now() - step < 90_000) {
        const scaling = (await target.status(handle)).scaling;
        if (aboveAt === undefined && /above target/.test(scaling?.lastPoll ?? ''))
          aboveAt = performance.now();
        if (decidedAt === undefined && (scaling?.desired ?? 0) > 1) decidedAt = performance.now();
        for (const replica of target.currentReplicas(handle)) {
          if (first.has(replica.id) || replica.state !== 'ready' || replica.url === undefined) continue;
          readyAt ??= performance.now();
          const load = await readLoad(replica.url, replica.token, 2000);
          if (load !== undefined && load.arrived > 0) servingAt = performance.now();
        }
        if (process.env.BENCH_TRACE)
          console.log(Math.round(performance.now() - step), JSON.stringify(scaling?.lastPoll));
        await sleep(process.env.BENCH_TRACE ? 500 : 20);
      }
      const answers = [...(await high.stop()), ...(await low.stop())];
      refused += answers.filter((answer) => answer.status !== 200).length;
      answered += answers.length;
      await target.remove(handle);
      if (servingAt === undefined || readyAt === undefined)
        throw new Error('no replica was added within 90 s');
      reactions.push(servingAt - step);
      ready.push(readyAt - step);
      // Where the time goes: seeing the load, waiting out scale_up_delay, starting the replica
      // (process or container, model load, readiness probe), the gateway sending it a request.
      phases.push({
        seen: (aboveAt ?? step) - step,
        decided: (decidedAt ?? aboveAt ?? step) - (aboveAt ?? step),
        started: readyAt - (decidedAt ?? aboveAt ?? step),
        serving: servingAt - readyAt,
      });
    }

    const colds: number[] = [];
    const warms: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      const resolved = spec(`zero${run}`, {
        ...base,
        minInstances: 0,
        idleTimeoutMs: 1000,
        pollingIntervalMs: 250,
      });
      const handle = await target.deploy(resolved, () => undefined);
      const url = route(resolved, handle);
      while (target.currentReplicas(handle).length > 0) await sleep(100);
      await sleep(500);
      const started = performance.now();
      const cold = await send(url, { body });
      if (cold.status !== 200)
        throw new Error(`the first request after idle got ${cold.status}: ${cold.body}`);
      colds.push(performance.now() - started);
      for (let n = 0; n < 20; n += 1) {
        const at = performance.now();
        await send(url, { body });
        warms.push(performance.now() - at);
      }
      await target.remove(handle);
    }

    const rows: [string, string][] = [
      ['reaction: load step 1 → 32 clients to the added replica ready (median)', ms(median(ready))],
      ['reaction: load step 1 → 32 clients to the added replica serving (median)', ms(median(reactions))],
      [`  every run`, reactions.map(ms).join(', ')],
      [
        '  where (median): load seen at a poll / scale_up_delay / replica start to ready / first request',
        (['seen', 'decided', 'started', 'serving'] as const)
          .map((key) => ms(median(phases.map((phase) => phase[key]))))
          .join(' / '),
      ],
      ['  answers not 200 during the steps', `${refused} of ${answered}`],
      ['cold start: first request after scale to zero (median)', ms(median(colds))],
      ['warm: one request on a ready replica (median)', ms(median(warms))],
      ['cold / warm', `${(median(colds) / median(warms)).toFixed(0)}x`],
    ];
    const width = Math.max(...rows.map(([label]) => label.length));
    console.log(
      `autoscale on ${kind}, ${runs} run(s); polling_interval 1 s, scale_up_delay 1 s (the defaults); model ocr-cls, max_concurrent_requests_per_instance 16`,
    );
    for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);
    console.log(`goal (reaction under 5 s): ${median(reactions) < 5000 ? 'met' : 'MISSED'}`);
  } finally {
    await gateway.close();
    await opened.close();
    dir.remove();
  }
}

await main();
