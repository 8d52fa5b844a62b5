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
        "job.yml:19: environment: read but not used: a job runs with its target's programs (local, cluster and ssh: the machine's; container: the target's base image, plus Debian's Python and the conda file's packages for a Python job)",
      ]);
      assert.deepEqual(definition.python, { requirements: [] }, 'the command runs python');
      assert.deepEqual(definition.resources, { cpu: undefined, memoryBytes: undefined, shmBytes: undefined });
    });
  });

  it('reads resources.cpu, memory and shm_size as engine limits, Docker and Kubernetes sizes alike', async () => {
    await withTempDir('job-spec', async (dir) => {
      const text = 'command: "true"\nresources: {cpu: "500m", memory: 2Gi, shm_size: 64m}\n';
      assert.deepEqual(parseJob(text, 'job.yml', dir).definition.resources, {
        cpu: 0.5,
        memoryBytes: 2 * 1024 ** 3,
        shmBytes: 64 * 1024 ** 2,
      });
      const kubernetes = parseJob(
        'command: "true"\nresources:\n  shm_size: 128Mi\n  instance_type: Standard_DS3_v2\n',
        'job.yml',
        dir,
      );
      assert.equal(kubernetes.definition.resources.shmBytes, 128 * 1024 ** 2);
      assert.deepEqual(kubernetes.warnings, [
        'job.yml:4: resources.instance_type: read but not used: berth has no machine sizes; a container job takes resources.cpu and resources.memory',
      ]);
      assert.throws(
        () => parseJob('command: "true"\nresources:\n  memory: lots\n  shm_size: big\n', 'job.yml', dir),
        (error: Error) => {
          assert.match(error.message, /job\.yml:3: resources\.memory: expected a memory size/);
          return true;
        },
      );
      assert.throws(
        () => parseJob('command: "true"\nresources:\n  shm_size: big\n', 'job.yml', dir),
        /job\.yml:3: resources\.shm_size: expected a size, e\.g\. "2g" or "512Mi"/,
      );
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

  it("reads a Python job's requirements from environment.conda_file and requirements.txt", async () => {
    await withTempDir('job-python', async (dir) => {
      await project(dir);
      await writeFile(join(dir, 'src', 'requirements.txt'), 'numpy\n');
      await writeFile(
        join(dir, 'conda.yml'),
        ['dependencies:', '  - python=3.11', '  - pip:', '    - scikit-learn>=1.0', ''].join('\n'),
      );
      const job = [
        'code: ./src',
        'command: ./train.sh',
        'environment:',
        '  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04',
        '  conda_file: ./conda.yml',
        '',
      ].join('\n');
      const { definition, warnings } = parseJob(job, 'job.yml', dir);
      assert.deepEqual(definition.python?.requirements, [
        { name: 'python', specifier: '==3.11', where: 'environment.conda_file: dependencies[0]' },
        { name: 'scikit-learn', specifier: '>=1.0', where: 'environment.conda_file: dependencies[1].pip[0]' },
        { name: 'numpy', specifier: '', where: 'requirements.txt:1' },
      ]);
      assert.deepEqual(warnings, [
        "job.yml:4: environment.image: read but not used: a job runs with its target's programs (local, cluster and ssh: the machine's; container: the target's base image, plus Debian's Python and the conda file's packages for a Python job)",
      ]);
      // No requirements and a command that is not Python: no Python asked for.
      await writeFile(join(dir, 'src', 'requirements.txt'), '');
      assert.equal(
        parseJob('code: ./src\ncommand: node train.mjs\n', 'job.yml', dir).definition.python,
        undefined,
      );
      for (const command of [
        'python3 x.py',
        '/usr/bin/python3 -m m',
        'SEED=1 python x.py',
        'python3.11 -c 1',
        'cd sub && python3 x.py',
        'if true; then exec python x.py; fi',
      ])
        assert.deepEqual(
          parseJob(`command: ${JSON.stringify(command)}\n`, 'job.yml', dir).definition.python,
          { requirements: [] },
          command,
        );
      for (const command of ['echo python is not called', 'node python3.mjs', './pythonic'])
        assert.equal(
          parseJob(`command: ${JSON.stringify(command)}\n`, 'job.yml', dir).definition.python,
          undefined,
          command,
        );
      assert.throws(
        () => parseJob('command: python x.py\nenvironment: {conda_file: ./none.yml}\n', 'job.yml', dir),
        /environment\.conda_file: .*none\.yml does not exist/,
      );
    });
  });
});
