import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { BerthError } from '../../src/core/errors.js';
import { targetCapabilities } from '../../src/targets/capabilities.js';
import type { ReplicaSet } from '../../src/targets/shared/replica-set.js';
import type { ReplicaCapacity } from '../../src/targets/shared/replica-limits.js';
import { ReplicaSetTarget } from '../../src/targets/shared/replica-set-target.js';
import type { DeploymentHandle, LogLine, Progress, ResolvedDeployment } from '../../src/targets/target.js';
import { FakeReplicas, fakeSpec, settle, type FakeReplica } from './fake-replicas.js';

/** What a future target (ssh here) writes on top of the shared plumbing. */
class FakeTarget extends ReplicaSetTarget<FakeReplica, string, FakeReplicas> {
  readonly kind = 'ssh';
  readonly capabilities = targetCapabilities.ssh;
  readonly factories: FakeReplicas[] = [];
  releases = 0;
  failRelease: Error | undefined;

  constructor() {
    super('lab', 'replicas live as long as the adapter');
  }

  logs(): AsyncIterable<LogLine> {
    return (async function* () {})();
  }

  protected createFactory(): FakeReplicas {
    const factory = new FakeReplicas();
    this.factories.push(factory);
    return factory;
  }

  protected async capacity(): Promise<ReplicaCapacity> {
    return { max: 5, basis: '1 test core × 5' };
  }

  protected async release(): Promise<string> {
    if (this.failRelease !== undefined) throw this.failRelease;
    this.releases += 1;
    return `v${this.releases}`;
  }

  protected async removeOrphans(spec: ResolvedDeployment, progress: Progress): Promise<void> {
    progress(`${spec.endpointName}/${spec.deploymentName}: no orphans`);
  }

  protected handleData(deployment: ReplicaSet<FakeReplica, string, FakeReplicas>): Record<string, unknown> {
    return { version: deployment.version };
  }

  /** Marks every replica of the newest factory's newest generation ready. */
  async readyAll(): Promise<void> {
    await settle();
    const factory = this.factories.at(-1);
    const generation = factory?.generations.get(Math.max(...(factory?.generations.keys() ?? [])));
    for (const replica of generation ?? []) replica.ready();
  }
}

async function deployOne(target: FakeTarget, spec = fakeSpec(1)): Promise<DeploymentHandle> {
  const handle = target.deploy(spec, () => undefined);
  await target.readyAll();
  return handle;
}

const code = (expected: string) => (error: BerthError) => error.code === expected;

describe('ReplicaSetTarget (the shared ComputeTarget plumbing)', () => {
  it('deploys with a JSON handle, and refuses a second deploy of the same deployment', async () => {
    const target = new FakeTarget();
    const handle = await deployOne(target);
    assert.deepEqual(handle, {
      target: 'lab',
      kind: 'ssh',
      id: 'ep/blue',
      data: { endpoint: 'ep', deployment: 'blue', generation: 1, version: 'v1' },
    });
    assert.equal((await target.status(handle)).state, 'Healthy');
    assert.deepEqual(
      target.currentReplicas(handle).map((replica) => replica.id),
      ['blue-1-0'],
    );
    await assert.rejects(
      target.deploy(fakeSpec(1), () => undefined),
      (error: BerthError) =>
        error.code === 'CONFLICT' &&
        error.message === 'deployment ep/blue is already on target "lab" (running): update it instead',
    );
    await target.close();
  });

  it('updates through the handle, and refuses a spec for another deployment', async () => {
    const target = new FakeTarget();
    const handle = await deployOne(target);
    const update = target.update(handle, fakeSpec(1), () => undefined);
    await target.readyAll();
    assert.deepEqual((await update).data, {
      endpoint: 'ep',
      deployment: 'blue',
      generation: 2,
      version: 'v2',
    });
    await assert.rejects(
      target.update(handle, { ...fakeSpec(1), deploymentName: 'green' }, () => undefined),
      (error: BerthError) =>
        error.code === 'BAD_INPUT' && error.message === 'the spec is for ep/green, the handle for ep/blue',
    );
    await target.close();
  });

  it('keeps a deployment whose release failed as Failed, and lets it be deployed again', async () => {
    const target = new FakeTarget();
    target.failRelease = new BerthError('RUN_FAILED', 'image build failed: step 3');
    await assert.rejects(
      target.deploy(fakeSpec(1), () => undefined),
      /image build failed/,
    );
    const handle = { target: 'lab', kind: 'ssh' as const, id: 'ep/blue', data: {} };
    assert.deepEqual(await target.status(handle), {
      state: 'Failed',
      reason: 'image build failed: step 3',
      replicas: [],
    });
    target.failRelease = undefined;
    await deployOne(target);
    assert.equal((await target.status(handle)).state, 'Healthy');
    await target.close();
  });

  it('answers NOT_FOUND after remove and SHUTTING_DOWN after close', async () => {
    const target = new FakeTarget();
    const handle = await deployOne(target);
    await target.remove(handle);
    assert.equal(target.factories[0]?.removedCalls, 1);
    await assert.rejects(
      target.status(handle),
      (error: BerthError) =>
        error.code === 'NOT_FOUND' &&
        error.message ===
          'deployment ep/blue is not running on ssh target "lab" (replicas live as long as the adapter: deploy it again from its spec)',
    );
    await target.remove(handle);
    await target.close();
    assert.equal(target.state, 'closed');
    await assert.rejects(
      target.deploy(fakeSpec(1), () => undefined),
      code('SHUTTING_DOWN'),
    );
  });
});
