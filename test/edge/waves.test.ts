/**
 * The edge target's rollout settings and wave plan, no broker needed: sizes as devices or
 * percentages (rounded up, at least one device), the last wave the rest, and bad settings refused
 * naming the problem.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planWaves, resolveEdgeTargetConfig } from '../../src/targets/edge/index.js';

const devices = ['d-3', 'd-1', 'd-5', 'd-2', 'd-4'];

describe('edge rollout waves', () => {
  it('splits the group by id: each size in order, then the rest', () => {
    assert.deepEqual(planWaves(devices, [1]), [['d-1'], ['d-2', 'd-3', 'd-4', 'd-5']]);
    assert.deepEqual(planWaves(devices, [1, '50%']), [['d-1'], ['d-2', 'd-3', 'd-4'], ['d-5']]);
    assert.deepEqual(planWaves(devices, ['20%', 2]), [['d-1'], ['d-2', 'd-3'], ['d-4', 'd-5']]);
  });

  it('rounds a percentage up, gives every wave one device at least, and stops when the group is used up', () => {
    assert.deepEqual(planWaves(devices, ['1%']), [['d-1'], ['d-2', 'd-3', 'd-4', 'd-5']]);
    assert.deepEqual(planWaves(devices, ['100%']), [devices.toSorted()]);
    assert.deepEqual(planWaves(devices, [4, 4, 4]), [['d-1', 'd-2', 'd-3', 'd-4'], ['d-5']]);
    assert.deepEqual(planWaves(['solo'], [1, '50%']), [['solo']]);
    assert.deepEqual(planWaves([], [1]), []);
  });

  it('resolves the settings with their defaults and refuses bad ones by name', () => {
    const resolved = resolveEdgeTargetConfig({ kind: 'edge', rollout: { waves: [1, '25%'] } });
    assert.deepEqual(resolved.rollout, { waves: [1, '25%'], bakeMs: 30_000, reportTimeoutMs: 300_000 });
    assert.equal(resolveEdgeTargetConfig({ kind: 'edge' }).rollout, undefined);
    const refused = (rollout: unknown, message: RegExp): void =>
      assert.throws(() => resolveEdgeTargetConfig({ kind: 'edge', rollout }), {
        code: 'INVALID_SPEC',
        message,
      });
    refused({ waves: [] }, /waves/);
    refused({ waves: ['0%'] }, /0%/);
    refused({ waves: ['150%'] }, /percentage/);
    refused({ waves: [0] }, /waves/);
    refused({ waves: [1], bakeMs: -1 }, /bakeMs/);
    refused({ waves: [1], wavez: 2 }, /wavez/);
  });
});
