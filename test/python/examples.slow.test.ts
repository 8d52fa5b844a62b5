/**
 * The three Azure-style scripts in examples/python, run unchanged through `berth serve` against
 * models trained at test time: answers equal the in-process Python prediction.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { send } from '../helpers/http.js';
import { startServe } from '../cli/serve-process.js';
import {
  assertClose,
  berthOk,
  examples,
  pythonMissing,
  trainSklearn,
  trainTorch,
  type SklearnFixture,
  type TorchFixture,
} from './helpers.js';

describe('Azure scoring scripts from examples/python, served unchanged', { skip: pythonMissing }, () => {
  let root: string;
  let workspace: string;
  let sklearn: SklearnFixture;
  let torch: TorchFixture;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-python-examples-'));
    workspace = join(root, 'ws');
    sklearn = await trainSklearn(join(root, 'sklearn'));
    torch = await trainTorch(join(root, 'torch'));
    await berthOk(workspace, 'init');
    await berthOk(workspace, 'model', 'register', '--name', 'iris', '--path', join(sklearn.dir, 'model.pkl'));
    await berthOk(
      workspace,
      'model',
      'register',
      '--name',
      'classifier',
      '--path',
      join(torch.dir, 'model.pt'),
    );
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('sklearn-schema: run(data) gets a numpy array; the answer is predict_proba; swagger from the decorators', async () => {
    const server = await startServe(
      [
        'iris:1',
        '--code',
        join(examples, 'sklearn-schema'),
        '--scoring-script',
        'score.py',
        '--port',
        '0',
        '--workers',
        '1',
      ],
      { workspace },
    );
    try {
      const answer = await send(`${server.url}/score`, { body: { data: sklearn.inputs } });
      assert.equal(answer.status, 200, answer.body);
      assert.deepEqual(JSON.parse(answer.body), sklearn.proba);

      const swagger = JSON.parse((await send(`${server.url}/swagger.json`)).body) as {
        components: { schemas: { ServiceInput: { properties: { data: { example: unknown } } } } };
      };
      assert.deepEqual(swagger.components.schemas.ServiceInput.properties.data.example, [
        [5.1, 3.5, 1.4, 0.2],
      ]);

      const wrongShape = await send(`${server.url}/score`, { body: { data: [[1, 2]] } });
      assert.equal(wrongShape.status, 500);
      assert.match(wrongShape.body, /does not match the expected shape/);

      // The script's logging lines reach the log with the id of the request that made them.
      const id = String(answer.headers['x-request-id']);
      const line = server
        .stderr()
        .split('\n')
        .find((text) => text.includes(`scoring ${sklearn.inputs.length} rows`));
      assert.ok(line !== undefined, server.stderr());
      assert.equal((JSON.parse(line) as { requestId: string }).requestId, id);
      assert.match(server.stderr(), /runs on \S*python3\S* \(chosen because/);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('rawhttp: run(request) gets an AMLRequest; AMLResponse sets the status and body', async () => {
    const server = await startServe(
      [
        'iris:1',
        '--code',
        join(examples, 'rawhttp'),
        '--scoring-script',
        'score.py',
        '--port',
        '0',
        '--workers',
        '1',
      ],
      { workspace },
    );
    try {
      const csv = sklearn.inputs.map((row) => row.join(',')).join('\n');
      const answer = await send(`${server.url}/score`, {
        raw: Buffer.from(csv),
        headers: { 'content-type': 'text/csv' },
      });
      assert.equal(answer.status, 200, answer.body);
      assert.deepEqual(JSON.parse(answer.body), { predictions: sklearn.predict });
      const refused = await send(`${server.url}/score`, { body: { data: 1 } });
      assert.equal(refused.status, 415);
      assert.equal(refused.body, 'send text/csv');
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('pytorch-classifier: run(raw_data) gets the JSON string; probabilities equal the in-process ones', async () => {
    const server = await startServe(
      [
        'classifier:1',
        '--code',
        join(examples, 'pytorch-classifier'),
        '--scoring-script',
        'score.py',
        '--port',
        '0',
        '--workers',
        '1',
      ],
      { workspace },
    );
    try {
      const answer = await send(`${server.url}/score`, { body: { images: torch.images } });
      assert.equal(answer.status, 200, answer.body);
      const rows = JSON.parse(answer.body) as { label: string; probabilities: number[] }[];
      assertClose(
        rows.map((row) => row.probabilities),
        torch.probabilities,
      );
      assert.match(server.stderr(), /classifier ready on cpu/);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});
