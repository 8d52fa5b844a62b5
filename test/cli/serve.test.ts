import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { berthBin, repoRoot, runBerth, withTempDir } from '../helpers/cli.js';

const linearPath = join(repoRoot, 'examples/models/linear.onnx');

test('berth serve answers /score and v2 for a registered model, then drains on SIGTERM', async () => {
  await withTempDir('serve', async (dir) => {
    const workspace = join(dir, 'ws');
    assert.equal((await runBerth(['init'], { workspace })).code, 0);
    assert.equal(
      (await runBerth(['model', 'register', '-n', 'linear', '-p', linearPath], { workspace })).code,
      0,
    );

    const server = spawn(
      process.execPath,
      [
        berthBin,
        'serve',
        'linear:1',
        '--port',
        '0',
        '--grpc-port',
        '0',
        '--workers',
        '1',
        '--key',
        'primary-key-1',
      ],
      { env: { ...process.env, BERTH_WORKSPACE: workspace }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    server.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    try {
      const listening = await new Promise<{ port: number; grpcPort: number }>((resolve, reject) => {
        server.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
        createInterface({ input: server.stdout }).on('line', (line) => {
          if (line.includes('"listening"')) resolve(JSON.parse(line) as { port: number; grpcPort: number });
        });
      });
      assert.ok(listening.grpcPort > 0, 'gRPC port reported');
      const base = `http://127.0.0.1:${listening.port}`;
      assert.equal(await (await fetch(`${base}/`)).text(), 'Healthy');

      const unauthorized = await fetch(`${base}/score`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ data: [[1, 2, 3]] }),
      });
      assert.equal(unauthorized.status, 401);

      const headers = { 'content-type': 'application/json', authorization: 'Bearer primary-key-1' };
      const score = await fetch(`${base}/score`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          data: [
            [1, 2, 3],
            [0, 0, 0],
          ],
        }),
      });
      assert.equal(score.status, 200);
      // y = 0.5*x0 - x1 + 2*x2 + 0.25
      assert.deepEqual(await score.json(), [[4.75], [0.25]]);

      const v2 = await fetch(`${base}/v2/models/linear/versions/1/infer`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [2, 0, 1] }] }),
      });
      assert.equal(v2.status, 200);
      const answer = (await v2.json()) as { outputs: { name: string; data: number[] }[] };
      assert.deepEqual(answer.outputs[0]?.data, [3.25]);

      const index = await fetch(`${base}/v2/repository/index`, { method: 'POST', headers, body: '{}' });
      assert.equal(index.status, 200);
      assert.deepEqual(
        ((await index.json()) as { name: string; version: string; state: string }[]).map((m) => [
          m.name,
          m.version,
          m.state,
        ]),
        [['linear', '1', 'READY']],
      );
    } finally {
      server.kill('SIGTERM');
      const [code] = (await once(server, 'exit')) as [number | null];
      assert.equal(code, 0, `clean exit after SIGTERM: ${stderr}`);
    }
  });
});

test('berth serve refuses an unknown model and bad flags with one line', async () => {
  await withTempDir('serve-bad', async (dir) => {
    const workspace = join(dir, 'ws');
    assert.equal((await runBerth(['init'], { workspace })).code, 0);
    const missing = await runBerth(['serve', 'ghost:1', '--port', '0'], { workspace });
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /model ghost:1 not found/);
    assert.equal(
      (await runBerth(['model', 'register', '-n', 'linear', '-p', linearPath], { workspace })).code,
      0,
    );
    const badPort = await runBerth(['serve', 'linear', '--port', 'eighty'], { workspace });
    assert.equal(badPort.code, 2);
    assert.match(badPort.stderr, /--port must be a whole number/);
    const badInline = await runBerth(['serve', 'linear', '--inline', 'sometimes'], { workspace });
    assert.equal(badInline.code, 2);
    assert.match(badInline.stderr, /execution\.inline: .*"auto"\|"always"\|"never"/);
    const codeOnly = await runBerth(['serve', 'linear', '--code', dir], { workspace });
    assert.equal(codeOnly.code, 2);
    assert.match(codeOnly.stderr, /--code needs --scoring-script/);
  });
});
