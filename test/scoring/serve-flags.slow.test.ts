/**
 * `berth serve` as a user runs it: keys from a file or the environment stay out of the process's
 * command line (what `ps` shows), and the memory limit it enforces is printed at start, from
 * --memory-limit or the default.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { defaultMemoryLimit } from '../../src/scoring/memory-limit.js';
import { berthBin, repoRoot, runBerth, withTempDir } from '../helpers/cli.js';

const linearPath = join(repoRoot, 'examples/models/linear.onnx');

interface Served {
  child: ChildProcess;
  url: string;
  listening: { memoryLimitBytes: number; memoryLimit: string };
  stderr: () => string;
}

async function serve(workspace: string, args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(
    process.execPath,
    [berthBin, 'serve', 'linear:1', '--port', '0', '--workers', '1', ...args],
    {
      env: { ...process.env, BERTH_WORKSPACE: workspace, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const listening = await new Promise<{ port: number; memoryLimitBytes: number; memoryLimit: string }>(
    (resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.includes('"listening"')) resolve(JSON.parse(line) as never);
      });
    },
  );
  return { child, url: `http://127.0.0.1:${listening.port}`, listening, stderr: () => stderr };
}

async function stop(served: Served): Promise<void> {
  served.child.kill('SIGTERM');
  const [code] = (await once(served.child, 'exit')) as [number | null];
  assert.equal(code, 0, served.stderr());
}

async function scores(url: string, key: string | undefined): Promise<number> {
  const answer = await fetch(`${url}/score`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ data: [[1, 2, 3]] }),
  });
  return answer.status;
}

function commandLine(child: ChildProcess): string {
  return readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
}

test('berth serve takes keys from --key-file and from the environment, never from its command line', async () => {
  await withTempDir('serve-flags', async (dir) => {
    const workspace = join(dir, 'ws');
    assert.equal((await runBerth(['init'], { workspace })).code, 0);
    assert.equal(
      (await runBerth(['model', 'register', '-n', 'linear', '-p', linearPath], { workspace })).code,
      0,
    );

    const keyFile = join(dir, 'keys');
    writeFileSync(keyFile, 'file-primary-key\nfile-secondary-key\n');
    chmodSync(keyFile, 0o600);
    const fromFile = await serve(workspace, ['--key-file', keyFile, '--memory-limit', '1Gi']);
    try {
      assert.doesNotMatch(commandLine(fromFile.child), /file-primary-key/);
      assert.equal(await scores(fromFile.url, undefined), 401);
      assert.equal(await scores(fromFile.url, 'file-primary-key'), 200);
      assert.equal(await scores(fromFile.url, 'file-secondary-key'), 200);
      assert.equal(fromFile.listening.memoryLimitBytes, 1024 ** 3);
      assert.match(
        fromFile.stderr(),
        /serving linear:1 at http:\/\/127\.0\.0\.1:\d+; memory limit 1\.0 GiB \(set by --memory-limit\)/,
      );
    } finally {
      await stop(fromFile);
    }

    const fromEnv = await serve(workspace, [], { BERTH_PRIMARY_KEY: 'env-primary-key' });
    try {
      assert.doesNotMatch(commandLine(fromEnv.child), /env-primary-key/);
      assert.equal(await scores(fromEnv.url, undefined), 401);
      assert.equal(await scores(fromEnv.url, 'env-primary-key'), 200);
      assert.equal(fromEnv.listening.memoryLimitBytes, defaultMemoryLimit().bytes);
      assert.match(fromEnv.listening.memoryLimit, /\(default: .*; set --memory-limit to change it\)/);
    } finally {
      await stop(fromEnv);
    }

    // --key still works; the reason to prefer the others is that it is on the command line.
    const fromFlag = await serve(workspace, ['--key', 'flag-primary-key']);
    try {
      assert.match(commandLine(fromFlag.child), /flag-primary-key/);
      assert.equal(await scores(fromFlag.url, 'flag-primary-key'), 200);
    } finally {
      await stop(fromFlag);
    }

    const both = await runBerth(['serve', 'linear', '--key', 'a-key-123', '--key-file', keyFile], {
      workspace,
    });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--key or with --key-file, not both/);
    const badLimit = await runBerth(['serve', 'linear', '--memory-limit', 'lots'], { workspace });
    assert.equal(badLimit.code, 2);
    assert.match(badLimit.stderr, /--memory-limit must be a size such as 2Gi/);
    const help = await runBerth(['serve', '--help'], { workspace });
    assert.match(help.stdout, /--key-file <file>/);
    assert.match(help.stdout, /--memory-limit <size>/);
    assert.match(help.stdout, /BERTH_PRIMARY_KEY/);
    assert.match(help.stdout, /ps, \/proc\/<pid>\/cmdline/);
  });
});
