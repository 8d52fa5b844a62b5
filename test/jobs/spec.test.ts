import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import { shellQuote, substituteCommand } from '../../src/jobs/definition.js';
import { jobFromFlags, parseJob } from '../../src/jobs/load.js';
import { withTempDir } from '../helpers/cli.js';

const azureJob = `$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
type: command
display_name: train-churn
experiment_name: churn
code: ./src
command: >-
  python train.py --data \${{inputs.data}} --epochs \${{inputs.epochs}}
  --model \${{outputs.model}}
inputs:
  data:
    type: uri_folder
    path: ./data
  epochs: 5
outputs:
  model:
    type: uri_folder
environment_variables:
  SEED: 7
environment: azureml:sklearn-env:1
compute: local
resources:
  instance_count: 2
limits:
  timeout: 600
`;

async function project(dir: string): Promise<void> {
  await mkdir(join(dir, 'src'));
  await mkdir(join(dir, 'data'));
}

describe('command job spec', () => {
  it('reads the Azure ML command job shape and resolves it', async () => {
    await withTempDir('job-spec', async (dir) => {
      await project(dir);
      const { definition, warnings } = parseJob(azureJob, 'job.yml', dir);
      assert.equal(definition.displayName, 'train-churn');
      assert.equal(definition.experimentName, 'churn');
      assert.equal(definition.codeDir, join(dir, 'src'));
      assert.deepEqual(definition.inputs, {
        data: { kind: 'path', type: 'uri_folder', path: join(dir, 'data') },
        epochs: { kind: 'value', value: '5' },
      });
      assert.deepEqual(definition.outputs, ['model']);
      assert.deepEqual(definition.environmentVariables, { SEED: '7' });
      assert.equal(definition.instanceCount, 2);
      assert.equal(definition.timeoutSeconds, 600);
      assert.equal(definition.compute, 'local');
      assert.deepEqual(warnings, [
        'job.yml:19: environment: read but not used: a local job runs with the programs of this machine',
      ]);
    });
  });

  it('reports every wrong field with its line, and unknown fields as warnings', async () => {
    await withTempDir('job-spec', async (dir) => {
      await project(dir);
      const text = [
        'command: python train.py ${{inputs.missing}}',
        'code: ./nowhere',
        'resources:',
        '  instance_count: 0',
        'limits:',
        '  timeout: soon',
      ].join('\n');
      assert.throws(
        () => parseJob(text, 'job.yml', dir),
        (error: Error) => {
          assert.ok(hasErrorCode(error, 'INVALID_SPEC'));
          assert.equal(
            error.message,
            [
              '2 problems in the spec:',
              'job.yml:4: resources.instance_count: expected at least 1, got 0',
              'job.yml:6: limits.timeout: expected a number, got "soon"',
            ].join('\n'),
          );
          return true;
        },
      );
      // Once the schema holds, references and paths are checked, each on its line.
      const second = 'command: python train.py ${{inputs.missing}}\ncode: ./nowhere\ncolour: blue\n';
      assert.throws(
        () => parseJob(second, 'job.yml', dir),
        (error: Error) => {
          assert.match(error.message, /job\.yml:1: command: \$\{\{inputs\.missing\}\} names no input/);
          assert.match(error.message, /job\.yml:2: code: .*nowhere is not a folder/);
          return true;
        },
      );
      const warned = parseJob('command: echo hi\ncolour: blue\n', 'job.yml', dir);
      assert.deepEqual(warned.warnings, ['job.yml:2: colour: unknown field, ignored']);
    });
  });

  it('binds inputs and outputs into the command, quoting only what needs it', () => {
    const command = substituteCommand(
      'train --data ${{inputs.data}} --name ${{ inputs.name }} --out ${{outputs.model}}',
      {
        data: { kind: 'path', type: 'uri_folder', path: '/data/set one' },
        name: { kind: 'value', value: "it's" },
      },
      { model: '/runs/x/outputs/model' },
    );
    assert.equal(command, "train --data '/data/set one' --name 'it'\\''s' --out /runs/x/outputs/model");
    assert.equal(shellQuote('a/b.c-d'), 'a/b.c-d');
    assert.throws(() => substituteCommand('x ${{outputs.nope}}', {}, {}), /names no output/);
  });

  it('builds a job from flags: existing paths become path inputs, the rest values', async () => {
    await withTempDir('job-flags', async (dir) => {
      await writeFile(join(dir, 'rows.csv'), 'a\n1\n');
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        const { definition } = jobFromFlags({
          command: 'python train.py --data ${{inputs.data}} --epochs ${{inputs.epochs}}',
          code: '.',
          inputs: ['data=./rows.csv', 'epochs=5'],
          target: 'azureml:local',
          timeoutSeconds: 30,
        });
        assert.deepEqual(definition.inputs.data, {
          kind: 'path',
          type: 'uri_file',
          path: join(dir, 'rows.csv'),
        });
        assert.deepEqual(definition.inputs.epochs, { kind: 'value', value: '5' });
        assert.equal(definition.codeDir, dir);
        assert.equal(definition.compute, 'azureml:local');
        assert.equal(definition.timeoutSeconds, 30);
        assert.equal(definition.displayName, 'python');
      } finally {
        process.chdir(cwd);
      }
      assert.throws(() => jobFromFlags({ command: 'x', inputs: ['novalue'] }), /invalid --input "novalue"/);
      assert.throws(() => jobFromFlags({ command: 'echo ${{inputs.a}}' }), /names no input/);
    });
  });
});
