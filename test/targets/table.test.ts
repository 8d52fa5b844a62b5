import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import {
  createTarget,
  recommendTarget,
  targetCapabilities,
  targetKinds,
  validateForTarget,
} from '../../src/targets/index.js';
import { linearDeployment, noProgress } from './helpers.js';

const GB = 1024 ** 3;

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

  it('builds local and refuses the kinds not implemented yet', async () => {
    // container is implemented (test/targets/container.slow.test.ts runs it on a real engine).
    for (const kind of targetKinds.filter((k) => k !== 'local' && k !== 'container' && k !== 'cluster')) {
      const target = createTarget({ kind, name: `my-${kind}` });
      assert.equal(target.kind, kind);
      await assert.rejects(target.deploy(linearDeployment('/tmp'), noProgress), (error: Error) => {
        assert.ok(hasErrorCode(error, 'NOT_IMPLEMENTED'));
        assert.equal(
          error.message,
          `target kind "${kind}" is not implemented yet; use local (see berth target recommend)`,
        );
        return true;
      });
      await target.close();
    }
    const cluster = createTarget({ kind: 'cluster', name: 'my-cluster' });
    await assert.rejects(cluster.deploy(linearDeployment('/tmp'), noProgress), (error: Error) => {
      assert.ok(hasErrorCode(error, 'INVALID_SPEC'));
      assert.match(
        error.message,
        /serves no real-time traffic: run batch jobs on it with `berth batch run --target cluster:/,
      );
      return true;
    });
    const local = createTarget({ kind: 'local', logsDir: '/tmp/berth-table-test/logs' });
    assert.equal(local.kind, 'local');
    await local.close();
  });
});

describe('recommendTarget', () => {
  const base = { modelBytes: 200 * 1024 * 1024 };
  it('follows the stage and the limits', () => {
    assert.equal(recommendTarget({ ...base, mode: 'realtime', stage: 'dev' }).target, 'local');
    assert.equal(recommendTarget({ ...base, mode: 'realtime', stage: 'test' }).target, 'container');
    assert.equal(recommendTarget({ ...base, mode: 'realtime', stage: 'production' }).target, 'kubernetes');
    assert.equal(recommendTarget({ ...base, mode: 'realtime' }).target, 'kubernetes');
    assert.equal(recommendTarget({ ...base, mode: 'batch' }).target, 'cluster');
    assert.equal(recommendTarget({ ...base, mode: 'batch', stage: 'dev' }).target, 'local');
    assert.equal(recommendTarget({ ...base, mode: 'realtime', offline: true }).target, 'edge');
    assert.equal(recommendTarget({ ...base, mode: 'realtime', requestsPerSecond: 0.1 }).target, 'function');
    assert.equal(
      recommendTarget({ ...base, mode: 'realtime', requestsPerSecond: 0.1, gpu: true }).target,
      'kubernetes',
    );
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
    assert.ok(large.alternatives.length > 0);
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
    assert.match(advice.reason, /not implemented yet/);
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
  it('refuses what the target cannot run and names the target to use instead', () => {
    const big = { ...spec, target: 'box', model: { ...spec.model, sizeBytes: 2 * GB } };
    assert.match(
      refused(big, 'container'),
      /"box" \(container\) takes models up to 1 GB, and model "linear" version 1 is 2 GB; use target kind "(local|ssh)" instead/,
    );
    const gpu = { ...spec, target: 'box', resources: { ...spec.resources, gpu: 1 } };
    assert.match(refused(gpu, 'container'), /CPU only, and resources.gpu asks for 1 GPU/);
    const memory = { ...spec, target: 'box', resources: { ...spec.resources, memoryBytes: 64 * GB } };
    assert.match(refused(memory, 'container'), /at most 48 GB of memory/);
    assert.match(
      refused({ ...spec, target: 'batch' }, 'cluster'),
      /runs batch jobs only, no real-time serving; use target kind "kubernetes" instead/,
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
