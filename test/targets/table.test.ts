import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { registerTargetCommands } from '../../src/cli/commands/target.js';
import { BerthError, hasErrorCode } from '../../src/core/errors.js';
import {
  createTarget,
  NotImplementedTarget,
  openBatchTarget,
  realtimeTarget,
  recommendTarget,
  targetCapabilities,
  targetKinds,
  targetProviders,
  validateForTarget,
  workKinds,
  type TargetKind,
  type Workload,
} from '../../src/targets/index.js';
import { jobLaunchers } from '../../src/jobs/submit.js';
import { repoRoot } from '../helpers/cli.js';
import { linearDeployment, noProgress } from './helpers.js';

const GB = 1024 ** 3;

/** The settings each kind needs for its adapters to be built (a cluster needs its Redis, ssh a host). */
const settingsOf = (kind: TargetKind) =>
  kind === 'cluster'
    ? { kind, name: `my-${kind}`, redis: 'redis://127.0.0.1:6379' }
    : kind === 'local'
      ? { kind, name: `my-${kind}`, logsDir: '/tmp/berth-table-test/logs' }
      : kind === 'ssh'
        ? { kind, name: `my-${kind}`, host: 'gpu-box.example.com' }
        : { kind, name: `my-${kind}` };

/** The kinds that serve real-time traffic today, as the refusals name them. */
const readyRealtime = targetKinds
  .filter((kind) => targetCapabilities[kind].work.realtime === 'ready')
  .join(' or ');

describe('capabilities table and registry', () => {
  it('has one row per kind with the architecture limits', () => {
    assert.deepEqual(Object.keys(targetCapabilities).sort(), [...targetKinds].sort());
    assert.equal(targetCapabilities.container.maxModelBytes, 1 * GB);
    assert.equal(targetCapabilities.container.maxMemoryBytes, 48 * GB);
    assert.equal(targetCapabilities.container.gpu, false);
    assert.equal(targetCapabilities.cluster.realtime, false);
    assert.equal(targetCapabilities.function.eventDriven, true);
    assert.equal(targetCapabilities.function.gpu, false);
    assert.equal(targetCapabilities.edge.offline, true);
    assert.equal(targetCapabilities.kubernetes.gpu, true);
    assert.equal(targetCapabilities.local.gpu, 'host');
  });

  it('claims for the cluster only what the code does: nothing scales its workers, nothing limits them, training only where it runs', () => {
    assert.equal(targetCapabilities.cluster.autoscale, false);
    assert.equal(targetCapabilities.cluster.enforcesResources, false);
    // Training is claimed only while src/jobs can start a command job on a cluster.
    assert.equal(/training/.test(targetCapabilities.cluster.usedFor), jobLaunchers.cluster !== undefined);
  });

  it('keeps the summary flags in step with the work each row serves', () => {
    for (const kind of targetKinds) {
      const row = targetCapabilities[kind];
      assert.equal(row.realtime, row.work.realtime !== 'no', kind);
      assert.equal(row.batch, row.work.batch !== 'no', kind);
      assert.equal(
        row.implemented,
        workKinds.some((work) => row.work[work] === 'ready'),
        kind,
      );
    }
  });

  it('provides exactly the work the table marks ready, from one registry', () => {
    for (const kind of targetKinds) {
      const work = targetCapabilities[kind].work;
      const realtime = targetProviders[kind].realtime(settingsOf(kind) as never);
      assert.equal(realtime.kind, kind);
      assert.equal(
        !(realtime instanceof NotImplementedTarget),
        work.realtime === 'ready',
        `${kind} real-time`,
      );
      assert.equal(targetProviders[kind].batch !== undefined, work.batch === 'ready', `${kind} batch`);
      // Command jobs start through src/jobs' launchers: one per kind the table marks ready.
      assert.equal(jobLaunchers[kind] !== undefined, work.jobs === 'ready', `${kind} jobs`);
    }
  });

  it('refuses real-time work where it is planned or never served, naming what works', async () => {
    for (const kind of targetKinds.filter((k) => targetCapabilities[k].work.realtime === 'planned')) {
      const target = createTarget(settingsOf(kind));
      assert.equal(target.kind, kind);
      await assert.rejects(target.deploy(linearDeployment('/tmp'), noProgress), (error: Error) => {
        assert.ok(hasErrorCode(error, 'NOT_IMPLEMENTED'));
        assert.equal(
          error.message,
          `target kind "${kind}" is planned, not implemented yet; use ${readyRealtime} (see berth target recommend)`,
        );
        return true;
      });
      await target.close();
    }
    // A cluster is refused before its settings are read: the reason is that it runs batch jobs only.
    const cluster = realtimeTarget({ kind: 'cluster', name: 'batch-cluster' });
    await assert.rejects(cluster.deploy(linearDeployment('/tmp'), noProgress), (error: Error) => {
      assert.ok(hasErrorCode(error, 'INVALID_SPEC'));
      assert.match(
        error.message,
        new RegExp(
          `serves no real-time traffic: run batch jobs on it with \`berth batch run --target NAME\` \\(or cluster:redis://host:port\\), and deploy endpoints to ${readyRealtime}`,
        ),
      );
      return true;
    });
    const local = createTarget({ kind: 'local', logsDir: '/tmp/berth-table-test/logs' });
    assert.equal(local.kind, 'local');
    await local.close();
  });

  it('opens the batch engine of a target, refusing those that run none, with what does', () => {
    assert.equal(openBatchTarget({ kind: 'local' }).engine, 'embedded');
    const cluster = openBatchTarget({ kind: 'cluster', name: 'c', redis: 'redis://127.0.0.1:6379/2' });
    assert.equal(cluster.engine, 'cluster');
    assert.deepEqual(cluster.config, {
      kind: 'cluster',
      name: 'c',
      redis: 'redis://127.0.0.1:6379/2',
      queuePrefix: 'berth',
    });
    assert.throws(() => openBatchTarget({ kind: 'cluster', name: 'c', redis: 'http://x' }), {
      message:
        /^cluster target c: redis: invalid cluster address "http:\/\/x": it must start with redis:\/\//,
    });
    assert.throws(
      () => openBatchTarget({ kind: 'container', name: 'dev-docker' }),
      (error: Error) =>
        hasErrorCode(error, 'INVALID_SPEC') &&
        error.message ===
          'target "dev-docker" (container) runs no batch jobs: run batch jobs on local or ssh or kubernetes or cluster (berth target list)',
    );
    // Kubernetes runs batch workers of a Redis queue: without the Redis, it says which setting is missing.
    assert.throws(
      () => openBatchTarget({ kind: 'kubernetes', kubeconfig: '/nonexistent/kubeconfig' }),
      (error: Error) =>
        hasErrorCode(error, 'INVALID_SPEC') &&
        /^kubernetes target kubernetes has no batchRedis/.test(error.message),
    );
    const kubernetes = openBatchTarget({
      kind: 'kubernetes',
      name: 'prod',
      kubeconfig: '/nonexistent/kubeconfig',
      batchRedis: 'redis://127.0.0.1:6379',
    });
    assert.equal(kubernetes.engine, 'kubernetes');
    assert.equal(kubernetes.config.kubeconfig, '/nonexistent/kubeconfig');
  });
});

describe('recommendTarget', () => {
  const base = { modelBytes: 200 * 1024 * 1024 };
  const works = (kind: TargetKind, mode: Workload['mode']) => targetCapabilities[kind].work[mode] === 'ready';

  it('follows the stage and the limits, among the targets that work today', () => {
    assert.equal(recommendTarget({ ...base, mode: 'realtime', stage: 'dev' }).target, 'local');
    assert.equal(recommendTarget({ ...base, mode: 'realtime', stage: 'test' }).target, 'container');
    assert.equal(recommendTarget({ ...base, mode: 'batch' }).target, 'cluster');
    assert.equal(recommendTarget({ ...base, mode: 'batch', stage: 'dev' }).target, 'local');
    // Production real-time fits Kubernetes best, and it serves real-time traffic today.
    const production = recommendTarget({ ...base, mode: 'realtime', stage: 'production' });
    assert.equal(production.target, 'kubernetes');
    assert.equal(
      production.reason,
      '"kubernetes" is for production real-time; suits the production stage; scales with the load',
    );
    // Its batch work runs too (workers on the cluster engine's queue), but the cluster target is
    // the one made for batch: Kubernetes is an alternative.
    const batch = recommendTarget({ ...base, mode: 'batch', stage: 'production' });
    assert.equal(batch.target, 'cluster');
    assert.ok(batch.alternatives.some((choice) => choice.target === 'kubernetes'));
  });

  it('never recommends a planned target ahead of one that works', () => {
    const workloads: Workload[] = [];
    for (const mode of ['realtime', 'batch'] as const)
      for (const gpu of [false, true])
        for (const stage of ['dev', 'test', 'production'] as const)
          for (const requestsPerSecond of [undefined, 0.1, 100])
            for (const modelBytes of [undefined, 200 * 1024 * 1024, 3 * GB])
              workloads.push({ mode, gpu, stage, requestsPerSecond, modelBytes });
    for (const workload of workloads) {
      const advice = recommendTarget(workload);
      const label = JSON.stringify(workload);
      assert.ok(works(advice.target, workload.mode), `${label}: ${advice.target}`);
      for (const choice of advice.alternatives) assert.ok(works(choice.target, workload.mode), label);
      for (const choice of advice.planned) {
        assert.ok(!works(choice.target, workload.mode), label);
        assert.match(choice.reason, /\(planned: not built yet\)$/, label);
      }
    }
    // A GPU model goes to Kubernetes (nvidia.com/gpu requests); the host's GPU on local is the alternative.
    const gpu = recommendTarget({ ...base, mode: 'realtime', gpu: true });
    assert.equal(gpu.target, 'kubernetes');
    assert.ok(
      gpu.alternatives.some(
        (choice) => choice.target === 'local' && /uses the host's GPU/.test(choice.reason),
      ),
    );
    assert.ok(!gpu.planned.some((choice) => choice.target === 'kubernetes'));
    // Sparse traffic suits a function; offline work suits an edge device, and only offline work.
    assert.ok(
      works(recommendTarget({ ...base, mode: 'realtime', requestsPerSecond: 0.1 }).target, 'realtime'),
    );
    const offline = recommendTarget({ ...base, mode: 'realtime', offline: true });
    assert.equal(offline.target, 'edge');
    assert.match(offline.reason, /"edge" is for on-device inference, offline/);
  });

  it('says nothing scales the cluster', () => {
    const batch = recommendTarget({ ...base, mode: 'batch' });
    assert.doesNotMatch(batch.reason, /scale/);
  });

  it('rules out the container for a GPU or a large model, with the reason', () => {
    const gpu = recommendTarget({ ...base, mode: 'realtime', stage: 'test', gpu: true });
    assert.notEqual(gpu.target, 'container');
    assert.match(gpu.ruledOut.find((choice) => choice.target === 'container')!.reason, /CPU only/);
    const large = recommendTarget({ mode: 'realtime', stage: 'test', modelBytes: 3 * GB });
    assert.notEqual(large.target, 'container');
    assert.match(
      large.ruledOut.find((choice) => choice.target === 'container')!.reason,
      /up to 1 GB; this one is 3 GB/,
    );
    assert.ok(large.ruledOut.some((choice) => choice.target === 'cluster'));
  });

  it('sizes at 150% of the model memory, scaling up before out', () => {
    const advice = recommendTarget({
      mode: 'realtime',
      modelBytes: 2 * GB,
      memoryBytes: 4 * GB,
      requestsPerSecond: 50,
    });
    assert.equal(advice.sizing.memoryBytes, 6 * GB);
    assert.equal(advice.sizing.instanceCount, 1);
    assert.match(advice.sizing.advice[0]!, /6 GB .*150% of the model's 4 GB/);
    assert.match(advice.sizing.advice[1]!, /scale up first/);
    assert.match(advice.sizing.advice[2]!, /then scale out.*50 requests\/s/);
  });

  it('with no size given, says how to measure instead of sizing from 0 bytes', () => {
    for (const workload of [{ mode: 'realtime' }, { mode: 'batch', modelBytes: 0 }] as const) {
      const advice = recommendTarget(workload);
      assert.equal(advice.sizing.memoryBytes, undefined);
      assert.match(advice.sizing.advice[0]!, /^measure what the loaded model needs/);
      assert.doesNotMatch(JSON.stringify(advice), /0 bytes/);
    }
  });
});

describe('validateForTarget', () => {
  const spec = linearDeployment('/tmp/berth-validate');
  const refused = (deployment: typeof spec, kind: keyof typeof targetCapabilities): string => {
    try {
      validateForTarget(deployment, targetCapabilities[kind]);
    } catch (error) {
      assert.ok(hasErrorCode(error, 'INVALID_SPEC'));
      return (error as Error).message;
    }
    assert.fail('expected a refusal');
  };
  it('refuses what the target cannot run and names a target that works instead', () => {
    const big = { ...spec, target: 'box', model: { ...spec.model, sizeBytes: 2 * GB } };
    assert.match(
      refused(big, 'container'),
      /"box" \(container\) takes models up to 1 GB, and model "linear" version 1 is 2 GB; use target kind "local" instead/,
    );
    const gpu = { ...spec, target: 'box', resources: { ...spec.resources, gpu: 1 } };
    assert.match(refused(gpu, 'container'), /CPU only, and resources.gpu asks for 1 GPU/);
    const memory = { ...spec, target: 'box', resources: { ...spec.resources, memoryBytes: 64 * GB } };
    assert.match(refused(memory, 'container'), /at most 48 GB of memory/);
    assert.match(
      refused({ ...spec, target: 'batch' }, 'cluster'),
      /runs batch jobs only, no real-time serving; use target kind "(local|container|function|kubernetes)" instead/,
    );
  });
  it('returns warnings for fields the target ignores', () => {
    assert.deepEqual(validateForTarget(spec, targetCapabilities.local), []);
    const withResources = { ...spec, resources: { cpu: 2, memoryBytes: GB, gpu: 1 } };
    const warnings = validateForTarget(withResources, targetCapabilities.local);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /not enforced on target "local"/);
    assert.match(warnings[1]!, /host's GPU/);
    assert.match(
      validateForTarget({ ...spec, instanceCount: 3 }, targetCapabilities.function)[0]!,
      /instanceCount is ignored/,
    );
  });
});

describe('the README, target list and target recommend tell the same as the table', () => {
  /** The README's "Targets" table: kind → [real-time, batch, jobs]. */
  async function readmeRows(): Promise<Map<string, string[]>> {
    const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('| target '));
    const rows = new Map<string, string[]>();
    for (const line of section.split('\n')) {
      if (!line.startsWith('|')) break;
      const cells = line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim());
      const kind = /^`([a-z]+)`$/.exec(cells[0] ?? '')?.[1];
      if (kind !== undefined) rows.set(kind, cells.slice(1, 4));
    }
    return rows;
  }

  it('lists every kind with what works today and what is planned', async () => {
    const rows = await readmeRows();
    assert.deepEqual([...rows.keys()], [...targetKinds]);
    for (const kind of targetKinds) {
      const work = targetCapabilities[kind].work;
      assert.deepEqual(
        rows.get(kind),
        workKinds.map((w) => (work[w] === 'no' ? '-' : work[w])),
        `README row of ${kind}`,
      );
    }
  });

  it('target list prints the same, in its table and its JSON', async () => {
    const human = await runTargetCommand(['target', 'list']);
    const lines = human.split('\n');
    const header = (lines[0] ?? '').split(/\s{2,}/);
    assert.deepEqual(header.slice(2, 5), ['REAL-TIME', 'BATCH', 'JOBS']);
    for (const kind of targetKinds) {
      const cells = (lines.find((line) => line.startsWith(`${kind} `)) ?? '').split(/\s{2,}/);
      const work = targetCapabilities[kind].work;
      assert.deepEqual(
        cells.slice(2, 5),
        workKinds.map((w) => (work[w] === 'no' ? '-' : work[w])),
        `target list row of ${kind}`,
      );
      assert.equal(cells.at(-1), targetCapabilities[kind].implemented ? 'ready' : 'planned', kind);
    }
    const json = JSON.parse(await runTargetCommand(['target', 'list', '--json'])) as {
      kind: TargetKind;
      work: unknown;
      autoscale: boolean;
    }[];
    for (const row of json) {
      assert.deepEqual(row.work, targetCapabilities[row.kind].work);
      assert.equal(row.autoscale, targetCapabilities[row.kind].autoscale);
    }
  });

  it('target recommend names a target that works, and the planned ones as planned', async () => {
    for (const args of [
      ['--realtime', '--gpu'],
      ['--realtime', '--rps', '0.1'],
      ['--batch'],
      ['--realtime'],
    ]) {
      const text = await runTargetCommand(['target', 'recommend', ...args]);
      const recommended = /^recommended: (\S+)/.exec(text)?.[1] as TargetKind;
      const mode = args[0] === '--batch' ? 'batch' : 'realtime';
      assert.equal(targetCapabilities[recommended].work[mode], 'ready', `${args.join(' ')}: ${recommended}`);
      const planned = text.split('planned (not built yet):\n')[1]?.split(/\n(?! )/)[0] ?? '';
      for (const kind of targetKinds) {
        const listed = new RegExp(`^  ${kind}: `, 'm').test(planned);
        const fits = recommendTarget({ mode, gpu: args.includes('--gpu') }).ruledOut.every(
          (r) => r.target !== kind,
        );
        assert.equal(
          listed,
          fits && targetCapabilities[kind].work[mode] === 'planned',
          `${args.join(' ')}: ${kind}`,
        );
      }
      assert.doesNotMatch(text, /0 bytes|scales automatically/);
    }
  });
});

/** Runs a `berth target …` command in-process and returns what it printed on stdout. */
async function runTargetCommand(args: string[]): Promise<string> {
  let stdout = '';
  const sink = (write: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        write(chunk.toString());
        callback();
      },
    });
  const program = new Command('berth').exitOverride();
  registerTargetCommands(program, {
    io: { stdout: sink((text) => (stdout += text)), stderr: sink(() => undefined) },
    openWorkspace: () => Promise.reject(new BerthError('WORKSPACE_MISSING', 'no workspace in this test')),
    workspaceDir: () => undefined,
  });
  await program.parseAsync(['node', 'berth', ...args]);
  return stdout;
}
