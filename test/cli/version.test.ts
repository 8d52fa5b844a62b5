/**
 * `berth --version` prints the version and nothing else, through the real executable and through
 * `npx berth` as the README runs it: npm reads the project's .npmrc and package.json there, and any
 * setting it does not know (as `onnxruntime-node-install` was) becomes a warning on every command.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { berthBin, repoRoot, withTempDir, type CliResult } from '../helpers/cli.js';

const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string })
  .version;

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

// npm's weekly "new version of npm available" notice is npm talking about itself, and it depends on
// the day; it is turned off so the test sees only what the project's own files cause.
const npmEnv = { ...process.env, npm_config_update_notifier: 'false' };

test('bin/berth.js --version and -V print exactly the version, with nothing on stderr', async () => {
  await withTempDir('version', async (dir) => {
    // No workspace exists there: printing the version must not need or touch one.
    const env = { ...process.env, BERTH_WORKSPACE: join(dir, 'none') };
    for (const flag of ['--version', '-V']) {
      const result = await run(process.execPath, [berthBin, flag], env);
      assert.deepEqual(result, { code: 0, stdout: `${version}\n`, stderr: '' }, flag);
    }
  });
});

test('npx berth --version prints exactly the version: npm adds no warning', async () => {
  const compiled = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
  const before = statSync(compiled).mtimeMs;
  const result = await run('npx', ['berth', '--version'], npmEnv);
  assert.deepEqual(result, { code: 0, stdout: `${version}\n`, stderr: '' });
  // npx runs the package's `prepare` step; with dist/ up to date that must not recompile (it would
  // cost half a minute and rewrite the files any running berth process loads).
  assert.equal(statSync(compiled).mtimeMs, before, 'npx berth recompiled an up-to-date dist/');
});

test('npm run (the script list) warns about nothing in the project configuration', async () => {
  const result = await run('npm', ['run'], npmEnv);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
  assert.match(result.stdout, /\n {2}test:fast\n/);
});
