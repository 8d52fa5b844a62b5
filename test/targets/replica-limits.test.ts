import { strict as assert } from 'node:assert';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import type { BerthError } from '../../src/core/errors.js';
import { resolveLocalTargetConfig } from '../../src/targets/local/config.js';
import { LocalTarget } from '../../src/targets/local/target.js';
import {
  assertFits,
  capacityOf,
  localCapacity,
  replicaMemory,
  startParallelism,
} from '../../src/targets/shared/replica-limits.js';
import { ReplicaSet } from '../../src/targets/shared/replica-set.js';
import { FakeReplicas, fakeSpec, settle, type FakeReplica } from './fake-replicas.js';
import { tempDir } from './helpers.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

describe('replica limits', () => {
  it('holds a deployment to min(cores × 4, memory / per-replica memory), and says both numbers', () => {
    const capacity = capacityOf(2, 10 * GiB, 1 * GiB, { cores: 'cores', memory: 'free' });
    assert.equal(capacity.max, 8);
    assert.equal(capacity.basis, '2 cores × 4 = 8 by CPU; 10 GB free / 1 GB per replica = 10 by memory');
    assert.equal(capacityOf(16, 3 * GiB, 1 * GiB, { cores: 'cores', memory: 'free' }).max, 3);
  });

  it('takes a replica memory from resources, else a default between 256 MiB and 1 GiB', () => {
    const spec = fakeSpec(1);
    assert.deepEqual(replicaMemory({ ...spec, resources: { ...spec.resources, memoryBytes: 300 * MiB } }), {
      bytes: 300 * MiB,
      source: 'from resources',
    });
    assert.equal(replicaMemory(spec, 24 * GiB).bytes, GiB);
    assert.equal(replicaMemory(spec, 2 * GiB).bytes, 512 * MiB);
    assert.equal(replicaMemory(spec, 512 * MiB).bytes, 256 * MiB);
    assert.match(replicaMemory(spec).source, /^default: /);
  });

  it('refuses more replicas than the capacity, with INVALID_SPEC and the reason', () => {
    const capacity = { max: 8, basis: '2 cores × 4 = 8 by CPU' };
    assertFits(fakeSpec(8), capacity, 'local');
    assert.throws(
      () => assertFits(fakeSpec(100_000), capacity, 'local'),
      (error: BerthError) =>
        error.code === 'INVALID_SPEC' &&
        error.exitCode === 2 &&
        error.message.startsWith(
          'cannot deploy "ep/blue": instance_count 100000 is more than target "local" can hold, at most 8 replica(s) (2 cores × 4 = 8 by CPU)',
        ),
    );
  });

  it('the local target refuses instance_count 100000 before it starts a single process', async () => {
    const dir = tempDir('limits');
    const target = new LocalTarget(resolveLocalTargetConfig({ kind: 'local', logsDir: `${dir.path}/logs` }));
    try {
      const spec = { ...fakeSpec(100_000), target: 'local' };
      assert.ok(localCapacity(spec).max <= availableParallelism() * 4);
      await assert.rejects(
        target.deploy(spec, () => undefined),
        (error: BerthError) =>
          error.code === 'INVALID_SPEC' &&
          /instance_count 100000 is more than target "local" can hold, at most \d+ replica\(s\) \(\d+ core\(s\) on this machine × 4 = \d+ by CPU; .* of memory available on this machine \/ 1 GB per replica = \d+ by memory\)/.test(
            error.message,
          ),
      );
      await assert.rejects(target.validate({ ...spec, instanceCount: 100_000 }), /at most/);
      assert.deepEqual(await target.validate({ ...spec, instanceCount: 1 }), []);
      // Refused before anything was recorded: status knows no such deployment.
      await assert.rejects(
        target.status({ target: 'local', kind: 'local', id: 'ep/blue', data: {} }),
        (error: BerthError) => error.code === 'NOT_FOUND',
      );
    } finally {
      await target.close();
      dir.remove();
    }
  });

  it(`starts a generation at most ${startParallelism} replicas at a time`, async () => {
    const factory = new FakeReplicas();
    const set = new ReplicaSet<FakeReplica, string, FakeReplicas>('ep/blue', fakeSpec(6), factory);
    const deployed = set.deploy('v1', () => undefined);
    await settle();
    const starts = () => factory.events.filter((event) => event.startsWith('start')).length;
    assert.equal(starts(), startParallelism);
    const [first, ...rest] = factory.generation(1);
    first?.ready();
    await settle();
    assert.equal(starts(), startParallelism + 1);
    for (const replica of rest) {
      replica.ready();
      await settle();
    }
    await deployed;
    assert.equal(starts(), 6);
    assert.equal(set.phase, 'running');
  });

  it('starts no further replica once one failed', async () => {
    const factory = new FakeReplicas();
    const set = new ReplicaSet<FakeReplica, string, FakeReplicas>('ep/blue', fakeSpec(6), factory);
    const deployed = set.deploy('v1', () => undefined);
    await settle();
    factory.generation(1)[0]?.failStart(new Error('init failed'));
    for (const replica of factory.generation(1).slice(1, startParallelism)) replica.ready();
    await assert.rejects(deployed, /init failed/);
    assert.equal(factory.events.filter((event) => event.startsWith('start')).length, startParallelism);
    assert.equal(set.phase, 'failed');
  });

  it('remove() during a start stops the replicas starting and starts no further one', async () => {
    const factory = new FakeReplicas();
    const set = new ReplicaSet<FakeReplica, string, FakeReplicas>('ep/blue', fakeSpec(6), factory);
    const deployed = set.deploy('v1', () => undefined);
    await settle();
    const removed = set.remove();
    await settle();
    // The fake replicas settle their start by hand: a real one rejects once its stop begins.
    for (const replica of factory.generation(1).slice(0, startParallelism))
      replica.failStart(new Error('start cancelled'));
    await removed;
    await assert.rejects(deployed, /start cancelled/);
    const started = factory.generation(1).slice(0, startParallelism);
    assert.ok(started.every((replica) => replica.stoppedWith === 0));
    assert.equal(factory.events.filter((event) => event.startsWith('start')).length, startParallelism);
    assert.equal(set.phase, 'removed');
  });
});
