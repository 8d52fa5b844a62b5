/**
 * A named cluster target, end to end with the real executable and the real Redis: `berth target
 * create batch-cluster --type cluster --redis … --queue-prefix …`, two `berth worker --target
 * batch-cluster` processes, then the same job with `compute: azureml:batch-cluster`,
 * `compute: batch-cluster` and `--target batch-cluster`: each runs on those workers and writes the
 * same predictions.csv as the job run on this machine.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildLinearModel, writeModel } from '../fixtures/onnx-builder.js';
import { repoRoot, runBerth, withTempDir } from '../helpers/cli.js';
import {
  redisUrl,
  removePrefix,
  startWorkerProcess,
  uniquePrefix,
  type WorkerProcess,
} from './cluster-helpers.js';

const deployment = (
  compute: string,
): string => `$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
name: linear-batch
type: model
model: azureml:linear:1
compute: ${compute}
resources:
  instance_count: 2
settings:
  max_concurrency_per_instance: 2
  mini_batch_size: '120B'
  output_action: append_row
  retry_settings:
    max_retries: 2
    timeout: 30
`;

test(
  'a named cluster target runs batch jobs from compute: azureml:NAME, compute: NAME and --target NAME',
  { timeout: 240_000 },
  async () => {
    await withTempDir('named-cluster', async (dir) => {
      const workspace = join(dir, 'ws');
      const berth = async (...args: string[]) => {
        const result = await runBerth(args, { workspace });
        assert.equal(result.code, 0, `berth ${args.join(' ')}: ${result.stderr}`);
        return result;
      };
      const prefix = uniquePrefix();
      const workers: WorkerProcess[] = [];
      try {
        await berth('init');
        await berth(
          'model',
          'register',
          '--name',
          'linear',
          '--path',
          writeModel(dir, 'linear.onnx', buildLinearModel()),
        );
        const created = await berth(
          'target',
          'create',
          'batch-cluster',
          '--type',
          'cluster',
          '--redis',
          redisUrl,
          '--queue-prefix',
          prefix,
        );
        assert.match(
          created.stdout,
          /target batch-cluster \(cluster\) created: run batch jobs on it with compute: batch-cluster/,
        );
        const listed = JSON.parse((await berth('target', 'list', '--json')).stdout) as {
          name?: string;
          settings?: unknown;
        }[];
        assert.deepEqual(listed.find((row) => row.name === 'batch-cluster')?.settings, {
          redis: redisUrl,
          queuePrefix: prefix,
        });

        for (const name of ['n1', 'n2']) {
          workers.push(
            await startWorkerProcess({
              prefix,
              name,
              cacheDir: join(dir, `cache-${name}`),
              concurrency: 2,
              target: { name: 'batch-cluster', workspace },
            }),
          );
        }
        assert.match(workers[0]!.output(), /worker n1 connected to batch-cluster \(redis:\/\/.*\)/);

        const rows = Array.from({ length: 40 }, (_, i) => `${i},${i / 4},${-i}`);
        await writeFile(join(dir, 'points.csv'), `x1,x2,x3\n${rows.join('\n')}\n`);
        const run = async (name: string, compute: string, extra: string[] = []) => {
          const file = join(dir, `${name}.yml`);
          await writeFile(file, deployment(compute));
          const result = await berth(
            'batch',
            'run',
            '-f',
            file,
            '--input',
            join(dir, 'points.csv'),
            '--output',
            join(dir, name),
            '--json',
            ...extra,
          );
          const status = JSON.parse(result.stdout) as {
            state: string;
            target: string;
            engine: string;
            workers: Record<string, unknown>;
            output: { predictions: string };
          };
          assert.equal(status.state, 'completed', result.stdout);
          return { status, predictions: await readFile(status.output.predictions, 'utf8') };
        };

        const here = await run('here', 'local');
        assert.equal(here.status.engine, 'embedded');
        assert.equal(here.predictions.trimEnd().split('\n').length, 41);
        const jobs = [
          await run('azure-name', 'azureml:batch-cluster'),
          await run('plain-name', 'batch-cluster'),
          // --target replaces a compute this workspace does not know.
          await run('override', 'azureml:some-other-cluster', ['--target', 'batch-cluster']),
        ];
        assert.deepEqual(
          jobs.map((job) => job.status.target),
          ['azureml:batch-cluster', 'batch-cluster', 'batch-cluster'],
        );
        for (const job of jobs) {
          assert.equal(job.status.engine, 'cluster');
          assert.equal(job.predictions, here.predictions);
          // The mini-batches ran on the workers that joined the named target.
          assert.ok(
            Object.keys(job.status.workers).some((name) => name === 'n1' || name === 'n2'),
            JSON.stringify(job.status.workers),
          );
        }

        // The tabular example in both of Azure's shapes: deployment.yml (older, on this machine) and
        // azure.yml (modelBatchDeployment, compute: azureml:batch-cluster), to the same predictions.
        const example = async (file: string, output: string, extra: string[] = []) => {
          const result = await berth(
            'batch',
            'run',
            '-f',
            join(repoRoot, 'examples/batch/tabular', file),
            '--input',
            join(repoRoot, 'examples/batch/tabular/data'),
            '--output',
            join(dir, output),
            '--json',
            ...extra,
          );
          const status = JSON.parse(result.stdout) as { engine: string; output: { predictions: string } };
          return { engine: status.engine, predictions: await readFile(status.output.predictions, 'utf8') };
        };
        const older = await example('deployment.yml', 'example-older');
        const onCluster = await example('azure.yml', 'example-azure');
        const onLocal = await example('azure.yml', 'example-azure-local', ['--target', 'local']);
        assert.deepEqual(
          [older.engine, onCluster.engine, onLocal.engine],
          ['embedded', 'cluster', 'embedded'],
        );
        assert.equal(onCluster.predictions, older.predictions);
        assert.equal(onLocal.predictions, older.predictions);

        const wrongKind = await runBerth(['worker', '--target', 'local'], { workspace });
        assert.equal(wrongKind.code, 3, wrongKind.stderr);
        const both = await runBerth(['worker', '--target', 'batch-cluster', '--cluster', redisUrl], {
          workspace,
        });
        assert.equal(both.code, 2);
        assert.match(both.stderr, /give --target NAME .* or --cluster redis:\/\/host:port, one of them/);
      } finally {
        for (const worker of workers) await worker.stop();
        await removePrefix(prefix);
      }
    });
  },
);
