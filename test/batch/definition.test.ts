import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasErrorCode } from '../../src/core/errors.js';
import { parseBatchDeployment } from '../../src/batch/definition/load.js';
import { parseByteSize } from '../../src/batch/definition/size.js';

const valid = `name: ocr-direction
model: azureml:ocr-cls:1
code_configuration:
  code: ./src
  scoring_script: score.ts
resources:
  instance_count: 2
mini_batch_size: "1MB"
environment_variables:
  LABELS: 0,180
  THREADS: 2
`;

test('a deployment gets Azure ML batch defaults and absolute paths', () => {
  const { deployment, warnings } = parseBatchDeployment(valid, 'deployment.yml', '/base');
  assert.deepEqual(warnings, []);
  assert.equal(deployment.scoringScript, '/base/src/score.ts');
  assert.deepEqual(deployment.model, { kind: 'registered', reference: 'azureml:ocr-cls:1' });
  assert.deepEqual(deployment.compute, { kind: 'name', name: 'local', written: 'local' });
  assert.equal(deployment.instanceCount, 2);
  assert.equal(deployment.maxConcurrencyPerInstance, 1);
  assert.equal(deployment.miniBatchSize, '1MB');
  assert.equal(deployment.outputAction, 'append_row');
  assert.equal(deployment.outputFileName, 'predictions.csv');
  assert.equal(deployment.maxRetries, 3);
  assert.equal(deployment.timeoutMs, 30_000);
  assert.equal(deployment.errorThreshold, -1);
  assert.equal(deployment.allowedFailedCount, -1);
  assert.equal(deployment.allowedFailedPercent, 100);
  assert.equal(deployment.loggingLevel, 'info');
  assert.deepEqual(deployment.environmentVariables, { LABELS: '0,180', THREADS: '2' });
});

test('errors name the file, the line and the field', () => {
  const text = `name: ocr
model: ocr-cls:1
compute: embedded
resources:
  instance_count: 0
max_concurrency_per_instance: 2
mini_batch_size: lots
output_action: append
`;
  assert.throws(
    () => parseBatchDeployment(text, 'deployment.yml', '/base'),
    (error: unknown) => {
      assert.ok(hasErrorCode(error, 'INVALID_SPEC'));
      const lines = error.message.split('\n');
      assert.ok(
        lines.some((line) => line.startsWith('deployment.yml:5: resources.instance_count:')),
        error.message,
      );
      assert.ok(
        lines.some((line) => line.startsWith('deployment.yml:7: mini_batch_size:')),
        error.message,
      );
      assert.ok(
        lines.some((line) => line.startsWith('deployment.yml:8: output_action:')),
        error.message,
      );
      return true;
    },
  );
});

test('a missing required field points at the document; bad compute at its line', () => {
  assert.throws(() => parseBatchDeployment('model: m:1\n', 'd.yml', '/'), { message: /^d\.yml:1: name: / });
  assert.throws(() => parseBatchDeployment('name: a\n\ncompute: azureml:no such\n', 'd.yml', '/'), {
    message: /^d\.yml:3: compute: "azureml:no such" is not a target: use local, a target's name/,
  });
  assert.throws(() => parseBatchDeployment('name: a\ncompute: cluster:http://x\n', 'd.yml', '/'), {
    message:
      /^d\.yml:2: compute: invalid cluster address "cluster:http:\/\/x": it must start with redis:\/\//,
  });
  const cluster = parseBatchDeployment('name: a\ncompute: cluster:redis://localhost:6379\n', 'd.yml', '/');
  assert.deepEqual(cluster.deployment.compute, {
    kind: 'cluster-address',
    redis: 'redis://localhost:6379',
    written: 'redis://localhost:6379/0',
  });
});

test('compute names a target: azureml:NAME, NAME, a kind, or embedded for local', () => {
  const computeOf = (text: string) =>
    parseBatchDeployment(`name: a\ncompute: ${text}\n`, 'd.yml', '/').deployment.compute;
  assert.deepEqual(computeOf('azureml:batch-cluster'), {
    kind: 'name',
    name: 'batch-cluster',
    written: 'azureml:batch-cluster',
  });
  assert.deepEqual(computeOf('batch-cluster'), {
    kind: 'name',
    name: 'batch-cluster',
    written: 'batch-cluster',
  });
  assert.deepEqual(computeOf('embedded'), { kind: 'name', name: 'local', written: 'embedded' });
  assert.deepEqual(computeOf('kubernetes'), { kind: 'name', name: 'kubernetes', written: 'kubernetes' });
  // berth's older `target:` field means the same; given both ways differently, it is refused.
  const older = parseBatchDeployment('name: a\ntarget: azureml:gpu\n', 'd.yml', '/').deployment.compute;
  assert.deepEqual(older, { kind: 'name', name: 'gpu', written: 'azureml:gpu' });
  assert.throws(() => parseBatchDeployment('name: a\ncompute: local\ntarget: gpu\n', 'd.yml', '/'), {
    message: /^d\.yml:3: target: "gpu" conflicts with compute: "local"; give one of them$/,
  });
});

test("--target replaces the file's compute before the file's value is read", () => {
  const file = 'name: a\ncompute: cluster:http://not-redis\n';
  const { deployment } = parseBatchDeployment(file, 'd.yml', '/', { target: 'azureml:batch-cluster' });
  assert.deepEqual(deployment.compute, {
    kind: 'name',
    name: 'batch-cluster',
    written: 'azureml:batch-cluster',
  });
  assert.throws(() => parseBatchDeployment('name: a\n', 'd.yml', '/', { target: 'two words' }), {
    message: /^--target: "two words" is not a target/,
  });
});

test('invalid YAML is reported with its line', () => {
  assert.throws(() => parseBatchDeployment('name: a\nmodel: [unclosed\n', 'd.yml', '/'), {
    message: /^d\.yml:\d+: invalid YAML/,
  });
});

test('unknown fields are warnings naming the field and its line, not errors; environment says why', () => {
  const { warnings } = parseBatchDeployment(
    'name: a\nenvironment: azureml:env:1\nretry_settings:\n  max_retries: 1\n  backoff: 2\nsettings:\n  retries: 1\n',
    'd.yml',
    '/',
  );
  assert.deepEqual(warnings, [
    'd.yml:5: unknown field "retry_settings.backoff" (ignored)',
    'd.yml:7: unknown field "settings.retries" (ignored)',
    "d.yml:2: environment: ignored: batch workers run the scoring script on berth's own Node.js runtime, not in an image or conda environment (set variables with settings.environment_variables)",
  ]);
});

test('sizes parse as ParallelRunStep reads them', () => {
  assert.equal(parseByteSize('1MB'), 1024 * 1024);
  assert.equal(parseByteSize('512 kb'), 512 * 1024);
  assert.equal(parseByteSize('100'), 100);
  assert.equal(parseByteSize('1.5GB'), 1.5 * 1024 ** 3);
  assert.equal(parseByteSize('lots'), undefined);
  assert.equal(parseByteSize('0MB'), undefined);
});
