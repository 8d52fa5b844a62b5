/**
 * The README's SDK example, run exactly as written: the code block is read from README.md and run
 * as an ES module from the repository root, importing `berth` the way a user's project does (the
 * package's own name, through its `exports`). The workspace goes to $BERTH_WORKSPACE, which
 * `Workspace.init()` honours.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, runBerth, withTempDir } from '../helpers/cli.js';

/** The body of the first ```ts block after the heading `heading`. */
function codeBlockAfter(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has the heading ${heading}`);
  const block = /\n```ts\n([\s\S]*?)\n```\n/.exec(markdown.slice(start));
  assert.ok(block?.[1], `a ts block follows ${heading}`);
  return block[1];
}

test("the README's SDK example registers the linear model and prints its version and inputs", async () => {
  const code = codeBlockAfter(await readFile(join(repoRoot, 'README.md'), 'utf8'), '### The SDK');
  await withTempDir('readme-sdk', async (dir) => {
    const workspace = join(dir, 'ws');
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '--eval', code], {
          cwd: repoRoot,
          env: { ...process.env, BERTH_WORKSPACE: workspace },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        child.on('error', reject);
        child.on('close', (exit) => resolve({ code: exit, stdout, stderr }));
      },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "1 [ { name: 'x', datatype: 'FP32', shape: [ 'batch', 3 ] } ]\n");
    const models = await runBerth(['model', 'list', '--json'], { workspace });
    assert.deepEqual(
      (JSON.parse(models.stdout) as { name: string; version: number }[]).map((m) => `${m.name}:${m.version}`),
      ['linear:1'],
      'the workspace the example made holds the model',
    );
  });
});
