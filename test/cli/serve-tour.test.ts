/**
 * The README's "Serve one model" section, line by line: `berth serve ocr-cls:1` with a gRPC port,
 * then each `curl` it shows (health, /score with the example request, the OpenAPI document, the
 * v2 model metadata, Prometheus metrics), and `berth serve my-model:3 --code ./src
 * --scoring-script score.ts` with a TypeScript entry script. Ports are 0 (the README's 5001/5002
 * may be taken on a shared machine); the server prints the ones it got.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoLoaderOptions, protoPath } from '../../src/scoring/grpc/index.js';
import { ocrClassifierPath, repoRoot, runBerth, withTempDir, type CliResult } from '../helpers/cli.js';
import { send } from '../helpers/http.js';
import { startServe } from './serve-process.js';

const ocrRequest = join(repoRoot, 'examples/endpoints/ocr/request.json');

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return result;
}

/** One unary call of the v2 gRPC service, with a client built from berth's proto. */
async function grpcCall(port: number, method: string, request: object): Promise<Record<string, unknown>> {
  const loaded = grpc.loadPackageDefinition(loadSync(protoPath(), protoLoaderOptions));
  const Service = (loaded.inference as grpc.GrpcObject).GRPCInferenceService as grpc.ServiceClientConstructor;
  const client = new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) => {
      const fn = client[method] as (
        request: object,
        options: grpc.CallOptions,
        callback: (error: grpc.ServiceError | null, response: Record<string, unknown>) => void,
      ) => void;
      fn.call(client, request, { deadline: Date.now() + 10_000 }, (error, response) =>
        error ? reject(error) : resolve(response),
      );
    });
  } finally {
    client.close();
  }
}

test('berth serve ocr-cls:1 --grpc-port: every route the README curls, and gRPC', async () => {
  await withTempDir('serve-tour', async (dir) => {
    const workspace = join(dir, 'ws');
    ok(await runBerth(['init'], { workspace }));
    ok(
      await runBerth(['model', 'register', '--name', 'ocr-cls', '--path', ocrClassifierPath], { workspace }),
    );
    const server = await startServe(['ocr-cls:1', '--port', '0', '--grpc-port', '0'], { workspace });
    try {
      const health = await send(`${server.url}/`);
      assert.deepEqual([health.status, health.body], [200, 'Healthy']);

      const scored = await send(`${server.url}/score`, {
        raw: await readFile(ocrRequest),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(scored.status, 200, scored.body);
      const [probabilities] = JSON.parse(scored.body) as number[][];
      assert.equal(probabilities?.length, 2, scored.body);
      assert.ok(Math.abs((probabilities[0] ?? 0) + (probabilities[1] ?? 0) - 1) < 1e-5, 'a softmax');
      assert.ok(scored.headers['x-request-id'], 'Azure ML answers carry x-request-id');

      const swagger = await send(`${server.url}/swagger.json`);
      assert.equal(swagger.status, 200);
      const openapi = JSON.parse(swagger.body) as {
        openapi: string;
        paths: Record<string, unknown>;
        components: { schemas: { ServiceOutput: { items: { minItems: number; maxItems: number } } } };
      };
      assert.match(openapi.openapi, /^3\./);
      assert.ok(openapi.paths['/score'], 'the scoring route is described');
      // From the model's signature: the output is [batch, 2].
      assert.deepEqual(
        [
          openapi.components.schemas.ServiceOutput.items.minItems,
          openapi.components.schemas.ServiceOutput.items.maxItems,
        ],
        [2, 2],
      );

      const metadata = await send(`${server.url}/v2/models/ocr-cls`);
      assert.equal(metadata.status, 200);
      const model = JSON.parse(metadata.body) as {
        name: string;
        versions: string[];
        inputs: { name: string; datatype: string; shape: number[] }[];
      };
      assert.equal(model.name, 'ocr-cls');
      assert.deepEqual(model.versions, ['1']);
      assert.deepEqual(
        model.inputs.map(({ name, datatype, shape }) => [name, datatype, shape[1]]),
        [['x', 'FP32', 3]],
      );

      const metrics = await send(`${server.url}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(String(metrics.headers['content-type']), /^text\/plain/);
      assert.match(metrics.body, /^berth_http_requests_total\{route="\/score",status="200"\} 1$/m);

      assert.ok(server.grpcPort !== null && server.grpcPort > 0, 'the gRPC port is reported');
      assert.deepEqual(await grpcCall(server.grpcPort, 'ServerLive', {}), { live: true });
      const grpcModel = await grpcCall(server.grpcPort, 'ModelMetadata', { name: 'ocr-cls', version: '' });
      assert.equal(grpcModel.name, 'ocr-cls');
    } finally {
      assert.equal(await server.stop(), 0, `clean exit after SIGTERM: ${server.stderr()}`);
    }
  });
});

const typedScript = `import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Context { modelDir: string }
interface Input { x: number }

let scale = 0;

export function init(ctx: Context): void {
  const [file] = readdirSync(ctx.modelDir);
  scale = (JSON.parse(readFileSync(join(ctx.modelDir, file!), 'utf8')) as { scale: number }).scale;
}

export function run(input: Input): { y: number } {
  return { y: input.x * scale };
}
`;

test('berth serve my-model:3 --code ./src --scoring-script score.ts runs a TypeScript init/run', async () => {
  await withTempDir('serve-script', async (dir) => {
    const workspace = join(dir, 'ws');
    const berth = (...args: string[]) => runBerth(args, { workspace, cwd: dir });
    ok(await berth('init'));
    // Three versions, so `my-model:3` is the README's reference as written, and its own bytes are served.
    for (const scale of [1, 2, 3]) {
      await writeFile(join(dir, 'weights.json'), JSON.stringify({ scale }));
      ok(
        await berth(
          'model',
          'register',
          '--name',
          'my-model',
          '--path',
          'weights.json',
          '--framework',
          'custom',
        ),
      );
    }
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'score.ts'), typedScript);
    const server = await startServe(
      ['my-model:3', '--port', '0', '--code', './src', '--scoring-script', 'score.ts'],
      { workspace, cwd: dir },
    );
    try {
      const answer = await send(`${server.url}/score`, { body: { x: 7 } });
      assert.equal(answer.status, 200, answer.body);
      assert.deepEqual(JSON.parse(answer.body), { y: 21 });
    } finally {
      assert.equal(await server.stop(), 0, `clean exit after SIGTERM: ${server.stderr()}`);
    }
  });
});

test('berth serve --help lists the settings the README names', async () => {
  await withTempDir('serve-help', async (dir) => {
    const help = ok(await runBerth(['serve', '--help'], { workspace: join(dir, 'ws') }));
    for (const option of ['--port', '--grpc-port', '--code', '--scoring-script', '--batching']) {
      assert.match(help.stdout, new RegExp(`\\s${option}\\b`), option);
    }
  });
});
