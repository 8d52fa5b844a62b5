/**
 * The autoscaler's rule, poll by poll: scale-up only after the delay and never past max_instances,
 * no scale-up while replicas start, a replica that is not ready is no capacity, scale-down one
 * replica per window and never below min_instances, scale to zero after idle_timeout, and from
 * zero at once when a request waits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TargetUtilization } from '../../src/core/specs/scale-settings.js';
import {
  decide,
  initialMemory,
  replicaUtilization,
  type LoadReading,
  type ReplicaReading,
  type ScalerMemory,
} from '../../src/targets/autoscale/decision.js';

const settings: TargetUtilization = {
  type: 'target_utilization',
  minInstances: 1,
  maxInstances: 4,
  targetUtilizationPercentage: 70,
  pollingIntervalMs: 1000,
  scaleUpDelayMs: 2000,
  scaleDownDelayMs: 5000,
  idleTimeoutMs: 10_000,
};

function load(inFlight: number, queued: number, arrived: number, cpuMicros = 0): LoadReading {
  return { inFlight, queued, maxConcurrent: 4, arrived, cpuMicros };
}

function ready(id: string, reading: LoadReading): ReplicaReading {
  return { id, state: 'ready', load: reading };
}

/** Runs polls at the given times with the same replicas; returns every decision. */
function polls(
  times: number[],
  replicas: (at: number) => ReplicaReading[],
  options: { settings?: TargetUtilization; waiting?: boolean; memory?: ScalerMemory } = {},
) {
  let memory = options.memory ?? initialMemory(0);
  return times.map((at) => {
    const decision = decide(options.settings ?? settings, memory, {
      at,
      replicas: replicas(at),
      waiting: options.waiting ?? false,
      cpuCores: undefined,
    });
    memory = decision.memory;
    return decision;
  });
}

describe('autoscaler decision', () => {
  it('scales up only once utilization stayed above the target for scale_up_delay', () => {
    const decisions = polls([0, 1000, 2000], (at) => [ready('a', load(4, 4, at))]);
    assert.deepEqual(
      decisions.map((decision) => decision.desired),
      [1, 1, 3],
    );
    assert.equal(decisions[2]!.utilization, 200);
    assert.match(
      decisions[2]!.reason,
      /utilization 200% above target 70% for 2 s: 1 ready replica\(s\), the load needs 3/,
    );
  });

  it('a burst shorter than the delay adds nothing', () => {
    const decisions = polls([0, 1000, 2000, 3000], (at) => [ready('a', load(at === 1000 ? 4 : 0, 0, at))]);
    assert.ok(decisions.every((decision) => decision.desired === 1));
  });

  it('never asks for more than max_instances', () => {
    const few = { ...settings, maxInstances: 2 };
    const decisions = polls([0, 2000], (at) => [ready('a', load(4, 4, at))], { settings: few });
    assert.equal(decisions[1]!.desired, 2);
    const full = polls([0, 2000], (at) => [ready('a', load(4, 4, at)), ready('b', load(4, 4, at))], {
      settings: few,
    });
    assert.equal(full[1]!.desired, 2);
    assert.match(full[1]!.reason, /max_instances 2 runs/);
  });

  it('waits for starting replicas before adding more', () => {
    const decisions = polls([0, 2000, 4000], (at) => [
      ready('a', load(4, 4, at)),
      { id: 'b', state: 'starting', load: undefined },
    ]);
    assert.ok(decisions.every((decision) => decision.desired === 2));
    assert.match(decisions[2]!.reason, /waiting for 1 starting replica/);
  });

  it('does not count a replica that is not ready as capacity', () => {
    const decisions = polls([0, 2000], (at) => [
      ready('a', load(4, 0, at)),
      { id: 'b', state: 'unavailable', load: undefined },
    ]);
    // The ready one runs at 100%: it alone needs 2; the unavailable one is kept and not counted.
    assert.equal(decisions[1]!.desired, 3);
    assert.match(decisions[1]!.reason, /1 replica\(s\) not ready, not counted as capacity/);
  });

  it('scales down one replica per scale_down_delay window, never below min_instances', () => {
    let count = 3;
    let memory = initialMemory(0);
    const seen: number[] = [];
    for (let at = 0; at <= 20_000; at += 1000) {
      const replicas = Array.from({ length: count }, (_, index) => ready(`r${index}`, load(0, 0, at)));
      const decision = decide(settings, memory, { at, replicas, waiting: false, cpuCores: undefined });
      memory = decision.memory;
      if (decision.desired !== count) seen.push(at);
      count = decision.desired;
    }
    assert.equal(count, 1);
    assert.deepEqual(seen, [5000, 10_000]);
  });

  it('keeps the replicas while the load needs them', () => {
    const decisions = polls([0, 5000, 10_000], (at) => [
      ready('a', load(3, 0, at)),
      ready('b', load(2, 0, at)),
    ]);
    // 75% + 50%: ceil(125 / 70) = 2.
    assert.ok(decisions.every((decision) => decision.desired === 2));
  });

  it('scales to zero after idle_timeout with min_instances 0, and not while requests arrive', () => {
    const zero = { ...settings, minInstances: 0 };
    const idle = polls([0, 5000, 9000, 10_000], () => [ready('a', load(0, 0, 7))], { settings: zero });
    assert.deepEqual(
      idle.map((decision) => decision.desired),
      [1, 1, 1, 0],
    );
    assert.match(idle[3]!.reason, /idle_timeout/);
    // A request every 10 s (arrived grows between polls) keeps it, though none is in flight at a poll.
    const busy = polls(
      [0, 5000, 10_000, 15_000, 20_000],
      (at) => [ready('a', load(0, 0, Math.floor(at / 10_000)))],
      {
        settings: zero,
      },
    );
    assert.ok(busy.every((decision) => decision.desired === 1));
  });

  it('does not scale to zero while a replica started for a request is still starting', () => {
    const zero = { ...settings, minInstances: 0 };
    // Woken at 0 by a request that then gave up (503 with Retry-After); the start takes 15 s.
    const starting: ReplicaReading = { id: 'a', state: 'starting', load: undefined };
    const decisions = polls(
      [5000, 10_000, 15_000, 20_000, 24_000, 25_000],
      (at) => [at <= 15_000 ? starting : ready('a', load(0, 0, 0))],
      { settings: zero },
    );
    // Kept while starting, and for idle_timeout once ready (from the last poll that saw it start).
    assert.deepEqual(
      decisions.map((decision) => decision.desired),
      [1, 1, 1, 1, 1, 0],
    );
    assert.match(decisions[5]!.reason, /idle_timeout/);
  });

  it('starts a replica at once when a request waits and none runs', () => {
    const zero = { ...settings, minInstances: 0 };
    assert.equal(polls([0], () => [], { settings: zero })[0]!.desired, 0);
    const woken = polls([0], () => [], { settings: zero, waiting: true });
    assert.equal(woken[0]!.desired, 1);
    assert.match(woken[0]!.reason, /a request is waiting/);
  });

  it('restores min_instances and max_instances bounds', () => {
    assert.equal(polls([0], () => [], { settings: { ...settings, minInstances: 2 } })[0]!.desired, 2);
    const many = Array.from({ length: 5 }, (_, index) => ready(`r${index}`, load(0, 0, 0)));
    assert.equal(polls([0], () => many)[0]!.desired, 4);
  });

  it('counts CPU time against resources.cpu when it is set', () => {
    const previous = { cpuMicros: 1_000_000, at: 0 };
    // 0.9 s of CPU in 1 s on one core: 90%, above the 25% concurrency.
    assert.equal(replicaUtilization(load(1, 0, 1, 1_900_000), previous, 1000, 1), 90);
    assert.equal(replicaUtilization(load(1, 0, 1, 1_900_000), previous, 1000, 2), 45);
    assert.equal(replicaUtilization(load(1, 0, 1, 1_900_000), previous, 1000, undefined), 25);
    // A restarted process (less CPU time than before) gives no CPU reading.
    assert.equal(replicaUtilization(load(1, 0, 1, 10), previous, 1000, 1), 25);
  });
});
