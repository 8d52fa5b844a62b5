import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { BerthError } from '../../src/core/errors.js';
import { ReplicaSet } from '../../src/targets/shared/replica-set.js';
import { deploymentStatus } from '../../src/targets/shared/status.js';
import type { ReplicaStatus } from '../../src/targets/target.js';
import { FakeReplicas, fakeSpec, settle, type FakeReplica } from './fake-replicas.js';

function deployed(instances: number): {
  set: ReplicaSet<FakeReplica, string, FakeReplicas>;
  factory: FakeReplicas;
  progress: string[];
  deploy: Promise<void>;
} {
  const factory = new FakeReplicas();
  const progress: string[] = [];
  const set = new ReplicaSet<FakeReplica, string, FakeReplicas>('ep/blue', fakeSpec(instances), factory);
  const deploy = set.deploy('v1', (line) => progress.push(line));
  return { set, factory, progress, deploy };
}

async function running(instances: number): Promise<ReturnType<typeof deployed>> {
  const started = deployed(instances);
  for (const replica of started.factory.generation(1)) replica.ready();
  await started.deploy;
  return started;
}

const ids = (replicas: ReplicaStatus[]): string[] => replicas.map((replica) => replica.id);

describe('ReplicaSet (the shared supervisor)', () => {
  it('is Creating until every replica of the first set is ready, then Healthy', async () => {
    const { set, factory, progress, deploy } = deployed(2);
    assert.deepEqual(set.status(), {
      state: 'Creating',
      reason: 'starting 2 replica(s)',
      replicas: [],
    });
    factory.generation(1)[0]?.ready();
    await settle();
    assert.equal(set.phase, 'creating');
    factory.generation(1)[1]?.ready();
    await deploy;
    assert.equal(set.status().state, 'Healthy');
    assert.equal(set.version, 'v1');
    assert.deepEqual(progress, [
      'ep/blue: starting 2 replica(s) of generation 1 from v1',
      'ep/blue: 2 replica(s) ready',
    ]);
    assert.deepEqual(factory.recorded, [['blue-1-0', 'blue-1-1']]);
  });

  it('keeps the old set serving until the new set is ready, then drains it', async () => {
    const { set, factory, progress } = await running(2);
    const update = set.update(fakeSpec(2, 3000), 'v2', (line) => progress.push(line));
    await settle();
    assert.equal(set.status().state, 'Transitioning');
    assert.equal(set.status().reason, 'rolling update: starting generation 2');
    assert.deepEqual(ids(set.replicas()), ['blue-1-0', 'blue-1-1']);
    assert.ok(!factory.events.some((event) => event.startsWith('drain')));

    for (const replica of factory.generation(2)) replica.ready();
    await update;
    assert.deepEqual(ids(set.replicas()), ['blue-2-0', 'blue-2-1']);
    assert.equal(set.version, 'v2');
    assert.equal(set.deployment.requestSettings.requestTimeoutMs, 3000);
    const firstDrain = factory.events.findIndex((event) => event.startsWith('drain'));
    assert.ok(factory.events.lastIndexOf('ready blue-2-1') < firstDrain, factory.events.join(', '));
    // The old replicas drain within their own (old) spec's grace.
    assert.deepEqual(
      factory.generation(1).map((replica) => replica.stoppedWith),
      [1000, 1000],
    );
    assert.equal(progress.at(-1), 'ep/blue: switched to generation 2; draining 2 old replica(s)');
    assert.deepEqual(factory.recorded.at(-1), ['blue-2-0', 'blue-2-1']);
    assert.equal(set.status().state, 'Healthy');
  });

  it('leaves the old set serving when the new set fails to start', async () => {
    const { set, factory } = await running(2);
    const update = set.update(fakeSpec(2), 'v2', () => undefined);
    await settle();
    factory.generation(2)[0]?.ready();
    factory.generation(2)[1]?.failStart(new BerthError('NOT_READY', 'init() failed: boom'));
    await assert.rejects(update, (error: BerthError) => {
      assert.equal(error.code, 'NOT_READY');
      assert.equal(
        error.message,
        'update of ep/blue failed, the previous version keeps serving: init() failed: boom',
      );
      return true;
    });
    assert.equal(set.phase, 'running');
    assert.equal(set.version, 'v1');
    assert.deepEqual(ids(set.replicas()), ['blue-1-0', 'blue-1-1']);
    assert.deepEqual(
      factory.generation(2).map((replica) => replica.stoppedWith),
      [0, 0],
    );
    assert.ok(factory.generation(1).every((replica) => replica.stoppedWith === undefined));
    assert.equal(set.status().state, 'Healthy');
    assert.deepEqual(factory.recorded.at(-1), ['blue-1-0', 'blue-1-1']);

    const retry = set.update(fakeSpec(2), 'v3', () => undefined);
    await settle();
    for (const replica of factory.generation(3)) replica.ready();
    await retry;
    assert.deepEqual(ids(set.replicas()), ['blue-3-0', 'blue-3-1']);
  });

  it('fails the deployment with the replica error, and refuses updates until redeployed', async () => {
    const { set, factory, deploy } = deployed(1);
    factory.generation(1)[0]?.failStart(new BerthError('NOT_READY', 'init() failed: no model'));
    await assert.rejects(deploy, /init\(\) failed: no model/);
    assert.deepEqual(set.status(), { state: 'Failed', reason: 'init() failed: no model', replicas: [] });
    await assert.rejects(
      set.update(fakeSpec(1), 'v2', () => undefined),
      (error: BerthError) =>
        error.code === 'CONFLICT' &&
        error.message === 'deployment ep/blue is failed: it can be updated only while running',
    );
  });

  it('reports Unhealthy with each replica that is not ready, and Deleting once removed', async () => {
    const { set, factory } = await running(2);
    const sick = factory.generation(1)[1];
    assert.ok(sick !== undefined);
    sick.state = 'unhealthy';
    sick.reason = 'readiness probe failed 3 times (GET /v2/health/ready answered 503)';
    assert.deepEqual(set.status().reason, `1 of 2 replicas ready: blue-1-1 unhealthy (${sick.reason})`);
    assert.equal(set.status().state, 'Unhealthy');
    await set.remove();
    assert.equal(set.phase, 'removed');
    assert.equal(set.status().state, 'Deleting');
    assert.deepEqual(factory.recorded.at(-1), []);
    assert.equal(factory.removedCalls, 1);
  });

  it("names the target's preparation in the Creating reason", () => {
    const factory = new FakeReplicas('building the image');
    const set = new ReplicaSet('ep/blue', fakeSpec(3), factory);
    assert.equal(set.status().reason, 'building the image and starting 3 replica(s)');
  });
});

describe('deploymentStatus', () => {
  const replica = (id: string, state: ReplicaStatus['state'], reason?: string): ReplicaStatus => ({
    id,
    url: undefined,
    state,
    restarts: 0,
    reason,
  });
  const base = { failure: undefined, generation: 4, instanceCount: 2, creating: 'starting 2 replica(s)' };

  it('maps every phase onto the Azure states', () => {
    const serving = [replica('a', 'ready'), replica('b', 'ready')];
    const all = [...serving, replica('old', 'draining')];
    const of = (phase: Parameters<typeof deploymentStatus>[0]['phase']) =>
      deploymentStatus({ ...base, phase, serving, all, failure: 'boom' });
    assert.deepEqual(of('creating'), { state: 'Creating', reason: 'starting 2 replica(s)', replicas: all });
    assert.deepEqual(of('updating'), {
      state: 'Transitioning',
      reason: 'rolling update: starting generation 4',
      replicas: all,
    });
    assert.deepEqual(of('failed'), { state: 'Failed', reason: 'boom', replicas: all });
    assert.deepEqual(of('deleting'), { state: 'Deleting', reason: undefined, replicas: all });
    assert.deepEqual(of('removed'), { state: 'Deleting', reason: undefined, replicas: all });
    assert.deepEqual(of('running'), { state: 'Healthy', reason: undefined, replicas: all });
  });

  it('counts only serving replicas towards Healthy', () => {
    const serving = [
      replica('a', 'ready'),
      replica('b', 'starting', 'the process exited; restart 1 in 500 ms'),
    ];
    const status = deploymentStatus({
      ...base,
      phase: 'running',
      serving,
      all: [...serving, replica('old', 'ready')],
    });
    assert.equal(status.state, 'Unhealthy');
    assert.equal(
      status.reason,
      '1 of 2 replicas ready: b starting (the process exited; restart 1 in 500 ms)',
    );
  });
});
