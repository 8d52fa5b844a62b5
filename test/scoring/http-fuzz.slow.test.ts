/**
 * ~2000 malformed requests (random bytes, truncated JSON, wrong types, huge numbers, deep
 * nesting, broken binary headers) against both protocols; every one must get a 4xx, and the
 * server must still answer valid requests correctly afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { linearModel, postJson, startTestServer, tempDir, type TestServer } from './http-harness.js';
import { seededRandom as random } from '../fixtures/random.js';

interface Malformed {
  path: string;
  body: Uint8Array | string;
  headers: Record<string, string>;
  kind: number;
}

function malformed(next: () => number): Malformed {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const path = pick(['/score', '/v2/models/linear/infer']);
  const json = { 'content-type': 'application/json' };
  const valid = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] });
  const kind = Math.floor(next() * 9);
  return { ...build(kind), kind };
  function build(kind: number): Omit<Malformed, 'kind'> {
    switch (kind) {
      case 0: {
        const bytes = new Uint8Array(1 + Math.floor(next() * 300));
        for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(next() * 256);
        return { path, body: bytes, headers: json };
      }
      case 1:
        return { path, body: valid.slice(0, Math.floor(next() * (valid.length - 1))), headers: json };
      case 2: {
        const value = pick<unknown>([null, true, 'zz', 1e308, -1e308, {}, [], [[]], { a: 1 }, 'NaN', '1']);
        return {
          path,
          body: JSON.stringify(
            path === '/score'
              ? pick([
                  { data: value },
                  { data: [[value, 1, 2]] },
                  { inputs: value },
                  { inputs: { x: value } },
                  value,
                ])
              : pick([
                  { inputs: value },
                  { inputs: [{ name: 'x', shape: value, datatype: 'FP32', data: [1, 2, 3] }] },
                  { inputs: [{ name: 'x', shape: [1, 3], datatype: value, data: [1, 2, 3] }] },
                  { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: value }] },
                  { inputs: [{ name: value, shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] },
                  {
                    inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, value] }],
                    outputs: value,
                  },
                ]),
          ),
          headers: json,
        };
      }
      case 3: {
        const huge = pick(['1e400', '-1e400', '1e39', '-3.5e38']);
        const text =
          path === '/score' ? `{"data":[[1,${huge},3]]}` : valid.replace('[1,2,3]', `[1,${huge},3]`);
        return { path, body: text, headers: json };
      }
      case 4: {
        const depth = 10 + Math.floor(next() * 5000);
        const nested = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
        return {
          path,
          body: path === '/score' ? `{"data":${nested}}` : valid.replace('[1,2,3]', nested),
          headers: json,
        };
      }
      case 5:
        return {
          path: '/v2/models/linear/infer',
          body: valid,
          headers: {
            'content-type': 'application/octet-stream',
            'inference-header-content-length': pick(['-1', 'abc', '99999', '3', '1.5']),
          },
        };
      case 6: {
        const header = JSON.stringify({
          inputs: [
            {
              name: 'x',
              shape: [1, 3],
              datatype: pick(['FP32', 'FP64', 'BYTES', 'INT8']),
              parameters: { binary_data_size: pick([0, 5, 12, 13, 1000]) },
            },
          ],
        });
        const tail = new Uint8Array(Math.floor(next() * 20));
        for (let i = 0; i < tail.length; i++) tail[i] = Math.floor(next() * 256);
        const body = new Uint8Array(header.length + tail.length);
        body.set(new TextEncoder().encode(header));
        body.set(tail, header.length);
        return {
          path: '/v2/models/linear/infer',
          body,
          headers: {
            'content-type': 'application/octet-stream',
            'inference-header-content-length': String(header.length),
          },
        };
      }
      case 7:
        return {
          path,
          body: valid,
          headers: { 'content-type': pick(['text/plain', 'application/xml', 'multipart/form-data']) },
        };
      default:
        return {
          path,
          body: pick(['', ' ', 'null', '[]', '"x"', '{', '}', '{"inputs":[{}]}', '\u0000']),
          headers: json,
        };
    }
  }
}

describe('scoring HTTP fuzz', () => {
  const dir = tempDir('http-fuzz');
  let server: TestServer;

  before(async () => {
    server = await startTestServer({
      models: [linearModel(dir.path)],
      maxConcurrentRequests: 64,
      maxQueueSize: 256,
    });
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  it('answers 2000 malformed requests with 4xx and keeps serving', async () => {
    const next = random(20240601);
    const statuses = new Map<number, number>();
    for (let round = 0; round < 40; round++) {
      const requests = Array.from({ length: 50 }, () => malformed(next));
      const answers = await Promise.all(
        requests.map(async (request) => {
          const response = await fetch(`${server.url}${request.path}`, {
            method: 'POST',
            body: request.body,
            headers: request.headers,
          });
          const text = await response.text();
          return { request, status: response.status, text };
        }),
      );
      for (const { request, status, text } of answers) {
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        assert.ok(
          status >= 400 && status < 500,
          `${status} for kind ${request.kind} ${request.path} ${JSON.stringify(request.headers)} ${typeof request.body === 'string' ? request.body.slice(0, 120) : `<${request.body.length} bytes>`}: ${text}`,
        );
        const parsed = JSON.parse(text) as Record<string, unknown>;
        assert.equal(typeof (parsed.message ?? parsed.error), 'string');
      }
    }
    const azure = await postJson(`${server.url}/score`, {
      data: [
        [1, 2, 3],
        [2, 0, 1],
      ],
    });
    assert.deepEqual(azure.json(), [[4.75], [3.25]]);
    const v2 = await postJson(`${server.url}/v2/models/linear/infer`, {
      inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [0, 0, 1] }],
    });
    assert.deepEqual((v2.json() as { outputs: { data: number[] }[] }).outputs[0]?.data, [2.25]);
  });
});
