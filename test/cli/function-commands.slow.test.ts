/**
 * The README's "The same deployment as a function" section through the real executable: the three
 * `berth package --function` kinds (the Lambda one as a zip, unpacked and invoked in a fresh
 * process with an API Gateway v2 event), a named function target run by the local function host,
 * the OCR example's blue.yml deployed to it with `--set target=…`, and the endpoint invoked on it.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stopServer } from '../../src/sdk/control-plane-process.js';
import { ocrClassifierPath, repoRoot, runBerth, type CliResult } from '../helpers/cli.js';

const example = (file: string) => join(repoRoot, 'examples', 'endpoints', 'ocr', file);
const invokeChild = join(repoRoot, 'dist', 'test', 'targets', 'function', 'invoke-child.js');

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return result;
}

/** The Lambda handler of the unpacked package, called with one API Gateway v2 event in a fresh process. */
function invokeLambda(root: string, body: string): Promise<{ statusCode: number; body: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [invokeChild], { stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', () => {
      const line = stdout.split('\n').find((text) => text.startsWith('RESULTS '));
      if (line === undefined) reject(new Error(`no results: ${stdout}`));
      else resolve((JSON.parse(line.slice('RESULTS '.length)) as { statusCode: number; body: string }[])[0]!);
    });
    const request = { method: 'POST', path: '/score', headers: { 'content-type': 'application/json' }, body };
    child.stdin.end(JSON.stringify({ kind: 'aws-lambda', root, requests: [request] }));
  });
}

/** examples/function/invoke-local.mjs on a package, with the OCR request; its stdout. */
function localInvoke(packageDir: string, ...flags: string[]): string {
  const script = join(repoRoot, 'examples', 'function', 'invoke-local.mjs');
  const run = spawnSync(process.execPath, [script, packageDir, example('request.json'), ...flags], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(run.status, 0, run.stderr);
  // The package's scoring server logs on stdout too: the answer is the status line and the body.
  const lines = run.stdout.split('\n');
  const at = lines.findIndex((line) => line === '200' || /^[1-5]\d\d$/.test(line));
  return lines.slice(at, at + 2).join('\n');
}

function softmax(text: string): void {
  const [probabilities] = JSON.parse(text) as number[][];
  assert.equal(probabilities?.length, 2, text);
  assert.ok(Math.abs((probabilities[0] ?? 0) + (probabilities[1] ?? 0) - 1) < 1e-5, 'a softmax');
}

describe('berth package --function, and a deployment on a function target', () => {
  let root: string;
  let workspace: string;
  const berth = (...args: string[]) => runBerth(args, { workspace, cwd: root });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-function-cli-'));
    workspace = join(root, 'ws');
    ok(await berth('init'));
    ok(await berth('model', 'register', '--name', 'ocr-cls', '--path', ocrClassifierPath));
  });
  after(async () => {
    await stopServer(workspace);
    await rm(root, { recursive: true, force: true });
  });

  it('writes a Lambda zip whose handler answers an API Gateway v2 event', async () => {
    const written = ok(
      await berth('package', 'ocr-cls:1', '--function', 'aws-lambda', '--output', './fn.zip'),
    );
    assert.equal(
      written.stdout,
      `aws-lambda function package written to ${join(root, 'fn.zip')} (entry index.mjs)\n`,
    );
    const listing = spawnSync('unzip', ['-Z1', join(root, 'fn.zip')], { encoding: 'utf8' });
    assert.equal(listing.status, 0, listing.stderr);
    const files = listing.stdout.split('\n');
    for (const file of [
      'index.mjs',
      'package.json',
      'scoring.json',
      'berth/aws-lambda.js',
      'berth/worker.js',
    ])
      assert.ok(files.includes(file), `${file} in the zip`);
    assert.ok(files.some((file) => file.startsWith('model/') && file.endsWith('.onnx')));
    assert.ok(
      files.some((file) => file.startsWith('berth/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/')),
    );
    const unpacked = join(root, 'fn-unpacked');
    const unzip = spawnSync('unzip', ['-q', join(root, 'fn.zip'), '-d', unpacked], { encoding: 'utf8' });
    assert.equal(unzip.status, 0, unzip.stderr);
    const { readFile } = await import('node:fs/promises');
    const answer = await invokeLambda(unpacked, await readFile(example('request.json'), 'utf8'));
    assert.equal(answer.statusCode, 200, answer.body);
    softmax(answer.body);
    // examples/function/README.md: the same package called by the example script.
    const [status, body] = localInvoke(unpacked, '--lambda').split('\n');
    assert.equal(status, '200');
    softmax(body ?? '');
  });

  it('writes the Azure Functions app and the fetch package as folders, and refuses what does not fit', async () => {
    ok(await berth('package', 'ocr-cls:1', '--function', 'azure-functions', '--output', './fnapp'));
    for (const file of ['host.json', 'package.json', 'src/functions/berth.js', 'berth/azure-functions.js'])
      await access(join(root, 'fnapp', file));
    const fetchPackage = JSON.parse(
      ok(await berth('package', 'ocr-cls:1', '--function', 'fetch', '--output', './fn', '--json')).stdout,
    ) as { output: string; kind: string; entry: string; warnings: string[] };
    assert.deepEqual(fetchPackage, {
      output: join(root, 'fn'),
      kind: 'fetch',
      entry: 'index.js',
      warnings: [],
    });
    await access(join(root, 'fn', 'berth', 'fetch.js'));
    const [status, body] = localInvoke(join(root, 'fn')).split('\n');
    assert.equal(status, '200');
    softmax(body ?? '');

    const unknown = await berth('package', 'ocr-cls:1', '--function', 'gcp', '--output', './x');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--function must be one of fetch, aws-lambda, azure-functions, not gcp/);
    const zip = await berth('package', 'ocr-cls:1', '--function', 'fetch', '--output', './x.zip');
    assert.equal(zip.code, 2);
    assert.match(zip.stderr, /only aws-lambda is written as a \.zip/);
    const image = await berth('package', 'ocr-cls:1', '--function', 'fetch', '--image', 'x:1');
    assert.equal(image.code, 2);
  });

  it('deploys blue.yml to a named function target and answers through the endpoint', async () => {
    const bad = await berth('target', 'create', 'fn-bad', '--type', 'local', '--handler', 'fetch');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--handler applies to --type function only/);
    const created = JSON.parse(
      ok(
        await berth(
          'target',
          'create',
          'fn-local',
          '--type',
          'function',
          '--handler',
          'aws-lambda',
          '--max-instances',
          '2',
          '--idle-timeout-ms',
          '60000',
          '--json',
        ),
      ).stdout,
    ) as { name: string; kind: string; config: Record<string, unknown> };
    assert.deepEqual(created.config, { handler: 'aws-lambda', maxInstances: 2, idleTimeoutMs: 60000 });

    ok(await berth('endpoint', 'create', '-f', example('endpoint.yml')));
    const deployed = ok(
      await berth(
        'deployment',
        'create',
        '-f',
        example('blue.yml'),
        '-n',
        'blue-fn',
        '--set',
        'target=fn-local',
        '--json',
      ),
    );
    const deployment = JSON.parse(deployed.stdout) as { name: string; target: string; state: string };
    assert.deepEqual(
      [deployment.name, deployment.target, deployment.state],
      ['blue-fn', 'fn-local', 'Healthy'],
    );
    // The settings a function ignores are named, not dropped.
    assert.match(deployed.stderr, /readiness_probe: ignored on target "fn-local" \(function\)/);

    const answer = ok(
      await berth(
        'endpoint',
        'invoke',
        'ocr',
        '--deployment',
        'blue-fn',
        '--request-file',
        example('request.json'),
      ),
    );
    softmax(answer.stdout);
    const logs = ok(await berth('deployment', 'logs', 'blue-fn', '-e', 'ocr', '--lines', '50'));
    assert.match(logs.stdout, /"route":"\/score"/);
    ok(await berth('deployment', 'delete', 'blue-fn', '-e', 'ocr'));
  });
});
