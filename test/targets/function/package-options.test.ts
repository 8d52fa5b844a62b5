import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { functionScoringOptions } from '../../../src/targets/function/package.js';
import { linearDeployment, tempDir } from '../helpers.js';

describe('a function package’s scoring options', () => {
  const dir = tempDir('function-options');
  after(() => dir.remove());

  it('hold the instance’s scoring server to resources.memory, and leave its default otherwise', () => {
    const spec = linearDeployment(dir.path);
    const limited = functionScoringOptions({
      ...spec,
      resources: { ...spec.resources, memoryBytes: 300 * 1024 * 1024 },
    });
    assert.equal(limited.memoryLimitBytes, 300 * 1024 * 1024);
    assert.equal(functionScoringOptions(spec).memoryLimitBytes, undefined);
  });
});
