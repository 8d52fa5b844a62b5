/**
 * Batch files in both of Azure's shapes: the older one with the run settings at the top level, and
 * today's `modelBatchDeployment` with them under `settings:`. Both resolve to the same definition
 * and score to the same predictions file; a value given both ways differently is refused.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseBatchDeployment } from '../../src/batch/definition/load.js';
import { hasErrorCode } from '../../src/core/errors.js';
import { linear, readPredictions, withBatchFixture } from './helpers.js';

const older = `name: linear-batch
model: azureml:linear:1
compute: local
resources:
  instance_count: 1
max_concurrency_per_instance: 2
mini_batch_size: '200B'
output_action: append_row
output_file_name: scores.csv
retry_settings:
  max_retries: 2
  timeout: 20
error_threshold: 3
logging_level: warning
environment_variables:
  BERTH_ORT_BATCH_SIZE: 4
`;

// As Azure ML's documentation writes a model batch deployment today.
const current = `$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
name: linear-batch
description: the linear model over a CSV
type: model
model: azureml:linear:1
compute: azureml:local
resources:
  instance_count: 1
settings:
  max_concurrency_per_instance: 2
  mini_batch_size: '200B'
  output_action: append_row
  output_file_name: scores.csv
  retry_settings:
    max_retries: 2
    timeout: 20
  error_threshold: 3
  logging_level: warning
  environment_variables:
    BERTH_ORT_BATCH_SIZE: '4'
`;

describe("both of Azure's batch deployment shapes", () => {
  it('resolve to the same definition, with no warnings', () => {
    const a = parseBatchDeployment(older, 'older.yml', '/base');
    const b = parseBatchDeployment(current, 'current.yml', '/base');
    assert.deepEqual(a.warnings, []);
    assert.deepEqual(b.warnings, []);
    const { compute: computeA, ...restA } = a.deployment;
    const { compute: computeB, ...restB } = b.deployment;
    assert.deepEqual(restA, restB);
    assert.equal(computeA.kind === 'name' && computeA.name, 'local');
    assert.equal(computeB.kind === 'name' && computeB.name, 'local');
    // Not the defaults: the settings were read from where each shape puts them.
    assert.equal(restB.maxConcurrencyPerInstance, 2);
    assert.equal(restB.outputFileName, 'scores.csv');
    assert.equal(restB.maxRetries, 2);
    assert.equal(restB.timeoutMs, 20_000);
    assert.equal(restB.errorThreshold, 3);
    assert.equal(restB.loggingLevel, 'warning');
    assert.equal(restB.miniBatchSize, '200B');
    assert.deepEqual(restB.environmentVariables, { BERTH_ORT_BATCH_SIZE: '4' });
  });

  it('score a data set to the same predictions file', async () => {
    await withBatchFixture(async ({ dir, batch, write }) => {
      const rows = Array.from({ length: 30 }, (_, i) => `${i / 2},${-i},${i % 3}`);
      await write('in/points.csv', `x1,x2,x3\n${rows.join('\n')}\n`);
      const outputs: string[] = [];
      for (const [name, text] of [
        ['older', older],
        ['current', current],
      ] as const) {
        const file = await write(`${name}.yml`, text);
        const status = await batch.run({
          deploymentFile: file,
          input: join(dir, 'in'),
          output: join(dir, name),
        });
        assert.equal(status.state, 'completed', status.reason);
        assert.equal(status.target, name === 'older' ? 'local' : 'azureml:local');
        assert.equal(status.output.predictions, join(dir, name, 'scores.csv'));
        outputs.push(await readFile(join(dir, name, 'scores.csv'), 'utf8'));
      }
      assert.equal(outputs[0], outputs[1]);
      const { rows: scored } = await readPredictions(join(dir, 'current', 'scores.csv'));
      assert.equal(scored.length, 30);
      for (const [index, row] of scored.entries()) {
        assert.equal(Number(row[1]), linear(index / 2, -index, index % 3), row.join(','));
      }
    });
  });

  it('refuse a setting given both ways with different values, naming both lines', () => {
    const mixed = `name: a
mini_batch_size: 10
retry_settings:
  max_retries: 1
environment_variables:
  A: x
settings:
  mini_batch_size: 20
  retry_settings:
    max_retries: 1
    timeout: 5
  environment_variables:
    A: y
    B: z
`;
    assert.throws(
      () => parseBatchDeployment(mixed, 'd.yml', '/'),
      (error: Error) => {
        assert.ok(hasErrorCode(error, 'INVALID_SPEC'));
        assert.equal(
          error.message,
          [
            '2 problems in the spec:',
            'd.yml:8: settings.mini_batch_size: 20 conflicts with mini_batch_size: 10 (line 2); give it once, at the top level or under settings',
            'd.yml:13: settings.environment_variables.A: "y" conflicts with environment_variables.A: "x" (line 6); give it once, at the top level or under settings',
          ].join('\n'),
        );
        return true;
      },
    );
  });

  it('accept a setting given both ways alike, and merge mappings member by member', () => {
    const { deployment } = parseBatchDeployment(
      `name: a
mini_batch_size: 10
retry_settings:
  max_retries: 1
environment_variables:
  THREADS: 2
settings:
  mini_batch_size: 10
  retry_settings:
    timeout: 5
  environment_variables:
    THREADS: '2'
    B: z
`,
      'd.yml',
      '/',
    );
    assert.equal(deployment.miniBatchSize, 10);
    assert.equal(deployment.maxRetries, 1);
    assert.equal(deployment.timeoutMs, 5000);
    assert.deepEqual(deployment.environmentVariables, { THREADS: '2', B: 'z' });
  });
});

describe('compute: azureml:NAME, and --target over it', () => {
  it("a name this workspace does not have is refused, unless --target replaces the file's compute", async () => {
    await withBatchFixture(async ({ dir, batch, write }) => {
      await write('in/points.csv', 'x1,x2,x3\n1,2,3\n');
      const file = await write(
        'd.yml',
        current.replace('compute: azureml:local', 'compute: azureml:batch-cluster'),
      );
      await assert.rejects(
        batch.run({ deploymentFile: file, input: join(dir, 'in'), output: join(dir, 'out') }),
        (error: Error) =>
          hasErrorCode(error, 'NOT_FOUND') &&
          error.message.startsWith('d.yml: compute: no target named "batch-cluster" in this workspace'),
      );
      // A file whose compute is not even a valid address runs where --target says.
      const broken = await write(
        'broken.yml',
        current.replace('compute: azureml:local', 'compute: cluster:http://x'),
      );
      for (const [path, target] of [
        [file, 'local'],
        [broken, 'embedded'],
      ] as const) {
        const status = await batch.run({
          deploymentFile: path,
          target,
          input: join(dir, 'in'),
          output: join(dir, target),
        });
        assert.equal(status.state, 'completed', status.reason);
        assert.equal(status.target, target);
        assert.equal(status.engine, 'embedded');
      }
    });
  });
});
