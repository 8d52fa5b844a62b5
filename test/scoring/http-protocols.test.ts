/**
 * Both HTTP protocols end to end over loopback on the real engine: Azure-ML-style /score and the
 * Open Inference Protocol v2 (JSON and binary tensor data), metadata, Triton extensions, metrics,
 * data collection and every bad-input case.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  addModel,
  call,
  linearModel,
  postJson,
  startTestServer,
  tempDir,
  type TestServer,
} from './http-harness.js';

describe('scoring HTTP front end (linear model)', () => {
  const dir = tempDir('http-proto');
  const collected = join(dir.path, 'collected');
  let server: TestServer;
  let url: string;

  before(async () => {
    server = await startTestServer({
      models: [linearModel(dir.path)],
      maxBodyBytes: 64 * 1024,
      maxHeaderBytes: 4096,
      dataCollection: { dir: collected, samplingRate: 1, maxFileBytes: 600, maxFiles: 3 },
    });
    url = server.url;
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  it('answers the health routes', async () => {
    const root = await call(`${url}/`);
    assert.equal(root.status, 200);
    assert.equal(root.text, 'Healthy');
    assert.equal((await call(`${url}/v2/health/live`)).status, 200);
    assert.equal((await call(`${url}/v2/health/ready`)).status, 200);
    const meta = (await call(`${url}/v2`)).json() as { name: string; extensions: string[] };
    assert.equal(meta.name, 'berth');
    assert.ok(meta.extensions.includes('binary_tensor_data'));
  });

  it('scores {"data": nested} on /score with the Azure headers', async () => {
    const answer = await postJson(
      `${url}/score`,
      {
        data: [
          [1, 2, 3],
          [0, 0, 0],
        ],
      },
      { 'x-ms-client-request-id': 'abc' },
    );
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json(), [[4.75], [0.25]]);
    assert.equal(answer.headers.get('x-ms-client-request-id'), 'abc');
    assert.match(answer.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(Number(answer.headers.get('x-ms-run-fn-exec-ms')) >= 0);
    const echoed = await postJson(`${url}/score`, { data: [[1, 2, 3]] }, { 'x-request-id': 'mine-1' });
    assert.equal(echoed.headers.get('x-request-id'), 'mine-1');
    assert.equal(echoed.headers.get('x-ms-client-request-id'), 'mine-1');
  });

  it('publishes an OpenAPI document from the signature', async () => {
    const doc = (await call(`${url}/swagger.json`)).json() as {
      openapi: string;
      components: { schemas: { ServiceInput: unknown } };
    };
    assert.equal(doc.openapi, '3.0.1');
    assert.deepEqual(doc.components.schemas.ServiceInput, {
      type: 'object',
      required: ['data'],
      properties: {
        data: {
          type: 'array',
          items: { type: 'array', items: { type: 'number', format: 'float' }, minItems: 3, maxItems: 3 },
        },
      },
    });
  });

  it('infers with v2 JSON, flat and nested, by version', async () => {
    const flat = await postJson(`${url}/v2/models/linear/infer`, {
      id: 'r1',
      inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 0, 0, 0] }],
    });
    assert.equal(flat.status, 200, flat.text);
    assert.deepEqual(flat.json(), {
      model_name: 'linear',
      model_version: '1',
      id: 'r1',
      outputs: [{ name: 'y', datatype: 'FP32', shape: [2, 1], data: [4.75, 0.25] }],
    });
    const nested = await postJson(`${url}/v2/models/linear/versions/1/infer`, {
      inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [[2, 0, 1]] }],
      outputs: [{ name: 'y' }],
    });
    assert.equal(nested.status, 200, nested.text);
    assert.deepEqual((nested.json() as { outputs: { data: number[] }[] }).outputs[0]?.data, [3.25]);
  });

  it('round-trips binary tensor data byte for byte', async () => {
    const x = new Float32Array([1, 2, 3, -1, 0.5, 4]);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'x', shape: [2, 3], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } },
        ],
        outputs: [{ name: 'y', parameters: { binary_data: true } }],
      }),
    );
    const response = await fetch(`${url}/v2/models/linear/infer`, {
      method: 'POST',
      headers: {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(header.length),
      },
      body: Buffer.concat([header, Buffer.from(x.buffer)]),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/octet-stream');
    const body = Buffer.from(await response.arrayBuffer());
    const jsonLength = Number(response.headers.get('inference-header-content-length'));
    const json = JSON.parse(body.subarray(0, jsonLength).toString()) as {
      outputs: { parameters: { binary_data_size: number } }[];
    };
    assert.equal(json.outputs[0]?.parameters.binary_data_size, 8);
    const expected = Buffer.from(new Float32Array([4.75, 7.25]).buffer);
    assert.deepEqual(body.subarray(jsonLength), expected);

    // binary_data_output at the top level, JSON input
    const mixed = await postJson(`${url}/v2/models/linear/infer`, {
      inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }],
      parameters: { binary_data_output: true },
    });
    assert.equal(mixed.headers.get('content-type'), 'application/octet-stream');
  });

  it('answers metadata, config, stats and a clear 400 for the repository API without a repository', async () => {
    const meta = (await call(`${url}/v2/models/linear`)).json();
    assert.deepEqual(meta, {
      name: 'linear',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
    });
    assert.equal((await call(`${url}/v2/models/linear/ready`)).status, 200);
    const config = (await call(`${url}/v2/models/linear/config`)).json() as {
      input: { data_type: string }[];
    };
    assert.equal(config.input[0]?.data_type, 'TYPE_FP32');
    const stats = (await call(`${url}/v2/models/linear/stats`)).json() as {
      model_stats: {
        name: string;
        inference_count: number;
        inference_stats: { success: { count: number } };
      }[];
    };
    assert.equal(stats.model_stats[0]?.name, 'linear');
    assert.ok((stats.model_stats[0]?.inference_stats.success.count ?? 0) > 0);
    assert.equal((await call(`${url}/v2/models/stats`)).status, 200);
    const repo = await call(`${url}/v2/repository/index`, { method: 'POST' });
    assert.equal(repo.status, 400);
    assert.match((repo.json() as { error: string }).error, /without a model repository/);
  });

  const v2Bad: [string, unknown, number, RegExp][] = [
    [
      'missing input',
      { inputs: [{ name: 'z', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] },
      400,
      /missing input "x"/,
    ],
    [
      'extra input',
      {
        inputs: [
          { name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
          { name: 'q', shape: [1], datatype: 'FP32', data: [1] },
        ],
      },
      400,
      /unexpected input "q"/,
    ],
    [
      'wrong shape',
      { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] },
      400,
      /shape \[1,4\], expected \[-1,3\]/,
    ],
    [
      'wrong datatype',
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'INT32', data: [1, 2, 3] }] },
      400,
      /datatype INT32, expected FP32/,
    ],
    [
      'unknown datatype',
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FLOAT', data: [1, 2, 3] }] },
      400,
      /datatype must be one of/,
    ],
    [
      'non-numeric',
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 'two', 3] }] },
      400,
      /element 1 is "two"/,
    ],
    [
      'length vs shape',
      { inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3] }] },
      400,
      /3 values but shape \[2,3\] needs 6/,
    ],
    [
      'huge number',
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 1e39, 3] }] },
      400,
      /within FP32 range/,
    ],
    [
      'empty batch',
      { inputs: [{ name: 'x', shape: [0, 3], datatype: 'FP32', data: [] }] },
      400,
      /empty batch/,
    ],
    ['no inputs', { inputs: [] }, 400, /at least one/],
    [
      'unknown output',
      {
        inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }],
        outputs: [{ name: 'nope' }],
      },
      400,
      /unknown output "nope"/,
    ],
  ];
  for (const [name, body, status, message] of v2Bad) {
    it(`v2 refuses ${name}`, async () => {
      const answer = await postJson(`${url}/v2/models/linear/infer`, body);
      assert.equal(answer.status, status, answer.text);
      assert.match((answer.json() as { error: string }).error, message);
    });
  }

  it('refuses NaN/Infinity spelled out, non-JSON bodies and wrong content types', async () => {
    const nan = await call(`${url}/v2/models/linear/infer`, {
      body: '{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[NaN,1,2]}]}',
    });
    assert.equal(nan.status, 400);
    assert.match((nan.json() as { error: string }).error, /not valid JSON/);
    const notJson = await call(`${url}/score`, { body: '{"data": [[1,2,3]' });
    assert.equal(notJson.status, 400);
    assert.match((notJson.json() as { message: string }).message, /not valid JSON/);
    const text = await call(`${url}/score`, { body: 'hello', headers: { 'content-type': 'text/plain' } });
    assert.equal(text.status, 415);
    const octet = await call(`${url}/v2/models/linear/infer`, {
      body: new Uint8Array(4),
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(octet.status, 415);
  });

  it('refuses bad /score bodies with {"message"}', async () => {
    const cases: [unknown, RegExp][] = [
      [{ data: [[1, 2]] }, /shape \[1,2\], expected \[-1,3\]/],
      [
        {
          data: [
            [1, 2, 3],
            [1, 2],
          ],
        },
        /ragged/,
      ],
      [{ data: [[true, 2, 3]] }, /element 0 is true/],
      [{ inputs: { x: [[1, 2, 3]], extra: [1] } }, /unexpected input "extra"/],
      [{ rows: [] }, /needs "data"/],
      [[1, 2, 3], /must be a JSON object/],
    ];
    for (const [body, message] of cases) {
      const answer = await postJson(`${url}/score`, body);
      assert.equal(answer.status, 400, answer.text);
      assert.match((answer.json() as { message: string }).message, message);
    }
  });

  it('answers 404, 405 with Allow, 413 and 431', async () => {
    assert.equal((await call(`${url}/nowhere`)).status, 404);
    const unknownModel = await postJson(`${url}/v2/models/nope/infer`, { inputs: [] });
    assert.equal(unknownModel.status, 404);
    assert.match((unknownModel.json() as { error: string }).error, /unknown model "nope"/);
    assert.equal((await call(`${url}/v2/models/linear/versions/9`)).status, 404);
    const wrongMethod = await call(`${url}/score`);
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'POST');
    const big = await postJson(`${url}/score`, { data: [new Array(40000).fill(1)] });
    assert.equal(big.status, 413);
    const headers = await call(`${url}/`, { headers: { 'x-big': 'a'.repeat(8000) } });
    assert.equal(headers.status, 431);
    assert.equal((await call(`${url}/`)).status, 200);
  });

  it('exposes Prometheus metrics', async () => {
    const metrics = await call(`${url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /text\/plain; version=0\.0\.4/);
    assert.match(metrics.text, /berth_http_requests_total\{route="\/score",status="200"\} \d+/);
    assert.match(
      metrics.text,
      /berth_http_requests_total\{route="\/v2\/models\/:model\/infer",status="400"\} \d+/,
    );
    assert.match(
      metrics.text,
      /berth_http_request_duration_seconds_bucket\{route="\/score",le="\+Inf"\} \d+/,
    );
    assert.match(metrics.text, /berth_batch_size_count \d+/);
    assert.match(metrics.text, /berth_queue_depth 0/);
    assert.match(metrics.text, /berth_data_collection_records_total \d+/);
  });

  it('collects sampled inputs and outputs into rotating JSONL files', async () => {
    for (let i = 0; i < 12; i++) await postJson(`${url}/score`, { data: [[i, 0, 0]] });
    let files: string[] = [];
    for (let tries = 0; tries < 50; tries++) {
      files = readdirSync(collected).filter((file) => file.endsWith('.jsonl'));
      if (files.length === 3) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(files.length, 3, 'rotated down to maxFiles');
    // The newest file may have just been opened by a rotation and hold no record yet.
    const lines = files
      .flatMap((file) => readFileSync(join(collected, file), 'utf8').trim().split('\n'))
      .filter((line) => line !== '');
    const record = JSON.parse(lines[lines.length - 1]!) as {
      model: string;
      inputs: { x: { shape: number[] } };
      outputs: { y: { data: number[] } };
    };
    assert.equal(record.model, 'linear');
    assert.deepEqual(record.inputs.x.shape, [1, 3]);
    assert.equal(record.outputs.y.data.length, 1);
  });
});

describe('scoring HTTP front end (add model, auth, repository)', () => {
  const dir = tempDir('http-auth');
  let server: TestServer;
  let url: string;
  const primary = 'primary-key-0001';
  const secondary = 'secondary-key-0002';

  before(async () => {
    const linear = linearModel(dir.path, '3');
    server = await startTestServer(
      { models: [addModel(dir.path)], auth: { primaryKey: primary, secondaryKey: secondary } },
      {
        repository: {
          index: async () => [{ name: 'linear', version: '3', state: 'UNAVAILABLE', reason: 'not loaded' }],
          resolve: async (name) => {
            if (name !== 'linear')
              throw Object.assign(new Error(`no model "${name}"`), { code: 'NOT_FOUND' });
            return linear;
          },
        },
      },
    );
    url = server.url;
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  it('keeps health open and asks for a key elsewhere', async () => {
    assert.equal((await call(`${url}/`)).status, 200);
    assert.equal((await call(`${url}/v2/health/ready`)).status, 200);
    const none = await postJson(`${url}/score`, { inputs: { a: [[1, 2]], b: [[3, 4]] } });
    assert.equal(none.status, 401);
    assert.ok((none.json() as { message: string }).message.length > 0);
    assert.equal((await call(`${url}/v2/models/add`, { headers: bearer('wrong-key-xxxx') })).status, 401);
    assert.equal((await call(`${url}/metrics`)).status, 401);
  });

  it('scores the two-input model on both protocols with either key', async () => {
    const azure = await postJson(`${url}/score`, { inputs: { a: [[1, 2]], b: [[3, 4]] } }, bearer(primary));
    assert.equal(azure.status, 200, azure.text);
    assert.deepEqual(azure.json(), [[4, 6]]);
    const v2 = await postJson(
      `${url}/v2/models/add/infer`,
      {
        inputs: [
          { name: 'a', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] },
          {
            name: 'b',
            shape: [2, 2],
            datatype: 'FP32',
            data: [
              [10, 20],
              [30, 40],
            ],
          },
        ],
      },
      bearer(secondary),
    );
    assert.equal(v2.status, 200, v2.text);
    assert.deepEqual((v2.json() as { outputs: { data: number[] }[] }).outputs[0]?.data, [11, 22, 33, 44]);
    const single = await postJson(`${url}/score`, { data: [[1, 2]] }, bearer(primary));
    assert.equal(single.status, 400);
    assert.match((single.json() as { message: string }).message, /send \{"inputs"/);
  });

  it('rotates the secondary key while the primary keeps working', async () => {
    server.handle.auth.setKeys({ primaryKey: primary, secondaryKey: 'secondary-key-0003' });
    assert.equal((await call(`${url}/v2/models/add`, { headers: bearer(secondary) })).status, 401);
    assert.equal((await call(`${url}/v2/models/add`, { headers: bearer('secondary-key-0003') })).status, 200);
    assert.equal((await call(`${url}/v2/models/add`, { headers: bearer(primary) })).status, 200);
  });

  it('loads and unloads through the repository API', async () => {
    const headers = bearer(primary);
    const index = await call(`${url}/v2/repository/index`, { method: 'POST', headers });
    assert.equal(index.status, 200);
    assert.deepEqual(index.json(), [
      { name: 'linear', version: '3', state: 'UNAVAILABLE', reason: 'not loaded' },
    ]);
    assert.equal((await call(`${url}/v2/models/linear`, { headers })).status, 404);
    const load = await call(`${url}/v2/repository/models/linear/load`, { method: 'POST', headers });
    assert.equal(load.status, 200, load.text);
    const answer = await postJson(
      `${url}/v2/models/linear/versions/3/infer`,
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] },
      headers,
    );
    assert.equal(answer.status, 200, answer.text);
    const unload = await call(`${url}/v2/repository/models/linear/unload`, { method: 'POST', headers });
    assert.equal(unload.status, 200, unload.text);
    assert.equal((await call(`${url}/v2/models/linear`, { headers })).status, 404);
    const missing = await call(`${url}/v2/repository/models/ghost/load`, { method: 'POST', headers });
    assert.equal(missing.status, 404);
  });
});
