/**
 * scale_settings is warned about exactly where nothing of berth's applies it: the file's rules
 * (core/specs/applicability.ts) agree with the capabilities table's `autoscale` column and with
 * the targets that start an autoscaler (every replica-set target whose row says `autoscale`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deploymentFieldWarnings } from '../../src/core/specs/applicability.js';
import { targetCapabilities } from '../../src/targets/capabilities.js';
import { targetKinds, type TargetKind } from '../../src/targets/target.js';

/** Kinds that scale by their platform's own settings, not by scale_settings. */
const platformScaled: readonly TargetKind[] = ['function'];

function scaleWarning(kind: TargetKind): string | undefined {
  const spec = { scale_settings: { type: 'target_utilization', min_instances: 0, max_instances: 3 } };
  return deploymentFieldWarnings(spec, { name: kind, kind }, 'blue.yml', () => 7).find(
    (warning) => warning.path === 'scale_settings',
  )?.message;
}

describe('scale_settings per target', () => {
  it('is honoured, with no warning, on every real-time kind whose row says autoscale', () => {
    for (const kind of targetKinds.filter((k) => targetCapabilities[k].work.realtime === 'ready')) {
      const honoured = targetCapabilities[kind].autoscale && !platformScaled.includes(kind);
      const warning = scaleWarning(kind);
      assert.equal(warning === undefined, honoured, `${kind}: ${warning ?? 'no warning'}`);
    }
  });

  it('is honoured on ssh: the ssh row autoscales', () => {
    assert.equal(targetCapabilities.ssh.autoscale, true);
    assert.equal(scaleWarning('ssh'), undefined);
    assert.match(scaleWarning('edge') ?? '', /the target does not autoscale/);
  });
});
