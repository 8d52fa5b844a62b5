/**
 * Each function package, invoked in a fresh process with its platform's documented request shapes
 * (invoke-child.ts), answers the conformance suite's requests exactly as the scoring server itself
 * does: the same statuses, the same bodies (outputs computed by hand: y = x·[0.5,-1,2] + 0.25), the
 * same errors. Then what only one platform has: the API Gateway stage prefix, base64 bodies both
 * ways, a binary tensor answer, an event of another shape.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { resolveScoringOptions } from '../../../src/scoring/options.js';
import { startScoringServer, type ScoringServerHandle } from '../../../src/scoring/server.js';
import {
  functionKinds,
  writeFunctionFolder,
  type FunctionKind,
} from '../../../src/targets/function/index.js';
import { scoringOptionsFor } from '../../../src/targets/shared/scoring-options.js';
import { repoRoot } from '../../helpers/cli.js';
import { send } from '../../helpers/http.js';
import { linearDeployment, tempDir } from '../helpers.js';
import type { ChildRequest } from './invoke-child.js';

const child = fileURLToPath(new URL('./invoke-child.js', import.meta.url));

interface Result {
  status: number;
  headers: Record<string, string>;
  body: string;
}

interface LambdaResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

/** The package finds its root beside its handler, not from a variable this process may carry. */
const { BERTH_FUNCTION_ROOT: _root, ...withoutRoot } = process.env;

/** Runs the package in a fresh process; the results as the platform's handler returned them. */
function invoke(kind: FunctionKind, root: string, requests: ChildRequest[]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, [child], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: withoutRoot,
    });
    let stdout = '';
    let stderr = '';
    process_.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    process_.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    process_.on('error', reject);
    process_.on('close', (code) => {
      if (code !== 0) reject(new Error(`invoke-child exited ${code}: ${stderr}`));
      else {
        const line = stdout.split('\n').find((text) => text.startsWith('RESULTS '));
        if (line === undefined) reject(new Error(`invoke-child printed no results: ${stdout}`));
        else resolve(JSON.parse(line.slice('RESULTS '.length)) as unknown[]);
      }
    });
    process_.stdin.end(JSON.stringify({ kind, root, requests }));
  });
}

/** Any platform's answer as status and text body (a base64 Lambda body decoded). */
function normalise(kind: FunctionKind, raw: unknown): Result {
  if (kind !== 'aws-lambda') return raw as Result;
  const result = raw as LambdaResult;
  return {
    status: result.statusCode,
    headers: result.headers,
    body: Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8').toString('utf8'),
  };
}

const rows = [
  [1, 2, 3],
  [0, 0, 0],
  [-2, 0.5, 1],
];
const json = { 'content-type': 'application/json' };
const v2Request = (id: string) =>
  JSON.stringify({ id, inputs: [{ name: 'x', shape: [3, 3], datatype: 'FP32', data: rows.flat() }] });

/** The conformance suite's requests, and the errors a client meets most. */
const requests: ChildRequest[] = [
  { method: 'GET', path: '/' },
  {
    method: 'POST',
    path: '/score',
    headers: { ...json, 'x-request-id': 'fn-score' },
    body: JSON.stringify({ data: rows }),
  },
  { method: 'POST', path: '/v2/models/linear/infer', headers: json, body: v2Request('c1') },
  { method: 'POST', path: '/score', headers: json, body: JSON.stringify({ data: [[1, 2]] }) },
  { method: 'GET', path: '/v2/health/ready' },
  { method: 'GET', path: '/v2/models/linear' },
  { method: 'POST', path: '/v2/models/nothing/infer', headers: json, body: v2Request('c2') },
  { method: 'POST', path: '/score', headers: json, body: '{"data": [[1, 2, 3]' },
  { method: 'POST', path: '/score', headers: { 'content-type': 'text/csv' }, body: '1,2,3' },
  { method: 'GET', path: '/score' },
  { method: 'GET', path: '/no/such/route' },
];

describe('function packages answer as the scoring server does', { concurrency: true }, () => {
  const dir = tempDir('function-handlers');
  const spec = linearDeployment(dir.path, {
    target: 'function',
    endpointName: 'shop',
    deploymentName: 'blue',
  });
  const roots = new Map<FunctionKind, string>();
  let server: ScoringServerHandle;
  let expected: Result[];

  before(async () => {
    for (const kind of functionKinds) {
      const root = `${dir.path}/${kind}`;
      await writeFunctionFolder(spec, kind, `${dir.path}/cache`, root);
      roots.set(kind, root);
    }
    server = await startScoringServer(
      resolveScoringOptions({ ...scoringOptionsFor(spec, '127.0.0.1', dir.path), logLevel: 'silent' }),
    );
    await server.ready;
    expected = [];
    for (const request of requests) {
      const answer = await send(`http://127.0.0.1:${server.httpPort}${request.path}`, {
        method: request.method,
        headers: request.headers,
        ...(request.body === undefined ? {} : { raw: Buffer.from(request.body) }),
      });
      expected.push({ status: answer.status, headers: {}, body: answer.body });
    }
  });
  after(async () => {
    await server?.close();
    dir.remove();
  });

  it('the server itself gives the hand-computed outputs and the errors the comparison relies on', () => {
    assert.deepEqual(
      expected.map((answer) => answer.status),
      [200, 200, 200, 400, 200, 200, 404, 400, 415, 405, 404],
    );
    assert.deepEqual(JSON.parse(expected[1]!.body), [[4.75], [0.25], [0.75]]);
    assert.deepEqual(JSON.parse(expected[2]!.body).outputs, [
      { name: 'y', datatype: 'FP32', shape: [3, 1], data: [4.75, 0.25, 0.75] },
    ]);
    assert.match(JSON.parse(expected[3]!.body).message, /expected \[-1,3\]/);
  });

  for (const kind of functionKinds) {
    it(`${kind}: the same requests give the same statuses and bodies`, async () => {
      const results = (await invoke(kind, roots.get(kind)!, requests)).map((raw) => normalise(kind, raw));
      assert.equal(results.length, requests.length);
      results.forEach((result, index) => {
        const label = `${kind} ${requests[index]!.method} ${requests[index]!.path}`;
        assert.equal(result.status, expected[index]!.status, `${label}: ${result.body}`);
        assert.deepEqual(result.body, expected[index]!.body, label);
      });
      assert.equal(results[1]!.headers['x-request-id'], 'fn-score', 'the request id comes back');
      assert.match(results[2]!.headers['content-type'] ?? '', /^application\/json/);
    });
  }

  it('aws-lambda: a named stage is taken off the path; base64 bodies in; binary answers base64 out', async () => {
    const binary = JSON.stringify({
      id: 'b',
      inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }],
      parameters: { binary_data_output: true },
    });
    const base64 = {
      version: '2.0',
      rawPath: '/score',
      rawQueryString: '',
      headers: json,
      requestContext: { http: { method: 'POST' }, stage: '$default' },
      body: Buffer.from(JSON.stringify({ data: [[1, 2, 3]] })).toString('base64'),
      isBase64Encoded: true,
    };
    const [staged, encoded, tensor] = (await invoke('aws-lambda', roots.get('aws-lambda')!, [
      {
        method: 'POST',
        path: '/score',
        stage: 'prod',
        headers: json,
        body: JSON.stringify({ data: [[0, 0, 0]] }),
      },
      { event: base64 },
      { method: 'POST', path: '/v2/models/linear/infer', headers: json, body: binary },
    ])) as LambdaResult[];
    assert.equal(staged!.statusCode, 200, staged!.body);
    assert.equal(staged!.isBase64Encoded, false);
    assert.deepEqual(JSON.parse(staged!.body), [[0.25]]);
    assert.deepEqual(JSON.parse(encoded!.body), [[4.75]]);
    assert.equal(tensor!.statusCode, 200);
    assert.equal(tensor!.isBase64Encoded, true);
    assert.equal(tensor!.headers['content-type'], 'application/octet-stream');
    const bytes = Buffer.from(tensor!.body, 'base64');
    const headerLength = Number(tensor!.headers['inference-header-content-length']);
    const header = JSON.parse(bytes.subarray(0, headerLength).toString('utf8'));
    assert.equal(header.outputs[0].parameters.binary_data_size, 4);
    assert.equal(bytes.readFloatLE(headerLength), 4.75);
  });

  it('aws-lambda: an event of another shape gets a 400 that names it', async () => {
    const [sqs, v1] = (await invoke('aws-lambda', roots.get('aws-lambda')!, [
      { event: { Records: [{ eventSource: 'aws:sqs', body: '{}' }] } },
      { event: { version: '1.0', path: '/score', httpMethod: 'POST', body: '{}' } },
    ])) as LambdaResult[];
    for (const result of [sqs!, v1!]) {
      assert.equal(result.statusCode, 400);
      assert.match(
        JSON.parse(result.body).message,
        /^not an API Gateway HTTP API \(payload 2\.0\) or function URL event: /,
      );
    }
  });

  it('azure-functions: the package is a v4 app whose HTTP trigger takes every path', async () => {
    const root = roots.get('azure-functions')!;
    const manifest = JSON.parse(await readFile(`${root}/package.json`, 'utf8'));
    assert.equal(manifest.main, 'src/functions/berth.js');
    assert.match(manifest.dependencies['@azure/functions'], /^\^4/);
    const host = JSON.parse(await readFile(`${root}/host.json`, 'utf8'));
    assert.equal(host.version, '2.0');
    assert.equal(host.extensions.http.routePrefix, '');
    const entry = await readFile(`${root}/src/functions/berth.js`, 'utf8');
    assert.match(entry, /app\.http\('berth', \{/);
    assert.match(entry, /route: '\{\*path\}'/);
    // The entry loads with the platform's own package and registers the trigger (outside the
    // Functions host, @azure/functions says so and skips the registration by name).
    await mkdir(join(root, 'node_modules', '@azure'), { recursive: true });
    await symlink(
      join(repoRoot, 'node_modules', '@azure', 'functions'),
      join(root, 'node_modules', '@azure', 'functions'),
    );
    const loaded = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', "await import('./src/functions/berth.js')"],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    assert.equal(loaded.status, 0, loaded.stderr);
    assert.match(loaded.stdout + loaded.stderr, /register function "berth"/);
  });
});
