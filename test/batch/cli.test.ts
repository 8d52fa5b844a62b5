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
    assert.equal(badTarget.code, 2);
    assert.match(
      badTarget.stderr,
      /compute: "kubernetes" is not a batch target; use "embedded" or "cluster:redis:\/\/host:port"/,
    );
  });
});
