import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerBatchCommands } from '../../src/cli/commands/batch.js';
import { Workspace } from '../../src/sdk/workspace.js';
import { repoRoot, runBerth, withTempDir } from '../helpers/cli.js';

const deployment = join(repoRoot, 'examples/batch/tabular/deployment.yml');
const data = join(repoRoot, 'examples/batch/tabular/data');

function capture(): { stream: Writable; text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  return { stream, text: () => text };
}

/** The commands as main.ts will register them, run in-process (works before main.ts registers them). */
async function runInProcess(
  workspaceDir: string,
  args: string[],
): Promise<{ stdout: string; stderr: string; error: unknown }> {
  const stdout = capture();
  const stderr = capture();
  const program = new Command('berth').exitOverride();
  registerBatchCommands(program, {
    io: { stdout: stdout.stream, stderr: stderr.stream },
    openWorkspace: () => Workspace.open({ dir: workspaceDir }),
    workspaceDir: () => workspaceDir,
  });
  let error: unknown;
  await program.parseAsync(['node', 'berth', ...args]).catch((caught: unknown) => (error = caught));
  return { stdout: stdout.text(), stderr: stderr.text(), error };
}

test('batch run, status, logs, list through the command handlers (the tabular example)', async () => {
  await withTempDir('batch-cli', async (dir) => {
    const workspace = join(dir, 'ws');
    await (await Workspace.init({ dir: workspace })).close();
    const run = await runInProcess(workspace, [
      'batch',
      'run',
      '-f',
      deployment,
      '--input',
      data,
      '--output',
      join(dir, 'out'),
      '--json',
    ]);
    assert.equal(run.error, undefined, String(run.error));
    const status = JSON.parse(run.stdout);
    assert.equal(status.state, 'completed');
    assert.deepEqual(status.items, { total: 60, succeeded: 60, failed: 0 });
    assert.equal(run.stderr, '', 'no progress bar when stderr is not a terminal');
    const text = await runInProcess(workspace, ['batch', 'status', status.id]);
    assert.match(text.stdout, /state: {8}completed/);
    assert.match(text.stdout, /mini-batches: 2\/2 done, 0 failed, 0 retried/);
    const logs = await runInProcess(workspace, ['batch', 'logs', status.id, '--worker', 'job']);
    assert.match(logs.stdout, /completed\n$/);
    const list = await runInProcess(workspace, ['batch', 'list']);
    assert.match(list.stdout, new RegExp(`${status.id}\\s+linear-batch\\s+completed\\s+60/60`));
  });
});

test('the real executable: berth batch run, status, and its refusals', async () => {
  await withTempDir('batch-bin', async (dir) => {
    const workspace = join(dir, 'ws');
    const help = await runBerth(['batch', '--help'], { workspace });
    assert.equal(help.code, 0);
    for (const command of ['run', 'status', 'logs', 'resume', 'cancel', 'list']) {
      assert.match(help.stdout, new RegExp(`\\n  ${command}\\b`), command);
    }
    assert.equal((await runBerth(['init'], { workspace })).code, 0);
    const run = await runBerth(
      ['batch', 'run', '-f', deployment, '--input', data, '--output', join(dir, 'out'), '--json'],
      { workspace },
    );
    assert.equal(run.code, 0, run.stderr);
    const status = JSON.parse(run.stdout);
    assert.equal(status.state, 'completed');
    const bad = await runBerth(['batch', 'status', 'nope'], { workspace });
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /berth: error: batch job nope not found/);
    await writeFile(join(dir, 'bad.yml'), 'name: bad\nmodel: linear:1\nmini_batch_size: lots\n');
    const yamlError = await runBerth(
      ['batch', 'run', '-f', join(dir, 'bad.yml'), '--input', data, '--output', dir],
      { workspace },
    );
    assert.equal(yamlError.code, 2);
    assert.match(yamlError.stderr, /^berth: error: bad\.yml:3: mini_batch_size: /);
    const badTarget = await runBerth(
      ['batch', 'run', '-f', deployment, '--input', data, '--output', dir, '--target', 'kubernetes'],
      { workspace },
    );
    assert.equal(badTarget.code, 2, badTarget.stderr);
    assert.match(
      badTarget.stderr,
      /^berth: error: --target: kubernetes target kubernetes has no batchRedis: its batch workers share a Redis queue/,
    );
    const container = await runBerth(
      ['batch', 'run', '-f', deployment, '--input', data, '--output', dir, '--target', 'container'],
      { workspace },
    );
    assert.equal(container.code, 2, container.stderr);
    assert.match(container.stderr, /--target: target "container" runs no batch jobs/);
    const unknown = await runBerth(
      ['batch', 'run', '-f', deployment, '--input', data, '--output', dir, '--target', 'azureml:gpu-farm'],
      { workspace },
    );
    assert.equal(unknown.code, 3, unknown.stderr);
    assert.match(unknown.stderr, /--target: no target named "gpu-farm" in this workspace: create it/);
  });
});

test('berth target create --type cluster: its settings checked, its password never printed', async () => {
  await withTempDir('cluster-target', async (dir) => {
    const workspace = join(dir, 'ws');
    assert.equal((await runBerth(['init'], { workspace })).code, 0);
    const create = (...args: string[]) => runBerth(['target', 'create', 'farm', ...args], { workspace });
    const noRedis = await create('--type', 'cluster');
    assert.equal(noRedis.code, 2);
    assert.match(noRedis.stderr, /--type cluster needs --redis redis:\/\/host:port\[\/db\]/);
    const wrongKind = await create('--type', 'container', '--redis', 'redis://127.0.0.1:6379');
    assert.equal(wrongKind.code, 2);
    assert.match(wrongKind.stderr, /--redis applies to --type cluster only, not container/);
    const badPrefix = await create(
      '--type',
      'cluster',
      '--redis',
      'redis://127.0.0.1:6379',
      '--queue-prefix',
      'a b',
    );
    assert.equal(badPrefix.code, 2);
    assert.match(badPrefix.stderr, /queuePrefix: expected 1-64 letters, digits/);
    const badRedis = await create('--type', 'cluster', '--redis', 'http://127.0.0.1:6379');
    assert.equal(badRedis.code, 2);
    assert.match(
      badRedis.stderr,
      /redis: invalid cluster address "http:\/\/127\.0\.0\.1:6379": it must start with redis:\/\//,
    );

    const created = await create(
      '--type',
      'cluster',
      '--redis',
      'redis://berth:s3cret@127.0.0.1:6379/3',
      '--json',
    );
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(JSON.parse(created.stdout).config, {
      redis: 'redis://berth:***@127.0.0.1:6379/3',
    });
    const list = await runBerth(['target', 'list'], { workspace });
    assert.match(list.stdout, /farm\s+cluster\s+redis=redis:\/\/berth:\*\*\*@127\.0\.0\.1:6379\/3/);
    const json = await runBerth(['target', 'list', '--json'], { workspace });
    assert.doesNotMatch(json.stdout + list.stdout, /s3cret/);
  });
});
