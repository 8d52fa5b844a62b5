/**
 * The hostile-input probes: one row per probe (each of issue 13's findings, and what was added
 * since), with its form for every front end it applies to. Each form sends the probe and asserts
 * the refusal: the right status or exit code, a message naming the problem, never INTERNAL.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { hasErrorCode } from '../../src/core/errors.js';
import { readDeploymentYaml } from '../../src/core/specs/index.js';
import { maxSpecBytes } from '../../src/core/yaml.js';
import { runBerth } from '../helpers/cli.js';
import { linearDeployment } from '../server/helpers.js';
import { buildLinearModel, writeModel } from '../fixtures/onnx-builder.js';
import { gatewayKey, limits, type FrontEnd, type FrontEnds } from './front-ends.js';
import { rawRequest, type RawAnswer, type RawRequest } from './raw-http.js';
import { aliasBomb } from '../fixtures/alias-bomb.js';

export interface Probe {
  name: string;
  on: Partial<Record<FrontEnd, (fronts: FrontEnds) => Promise<void>>>;
}

const json = { 'content-type': 'application/json' };
const withKey = { ...json, authorization: `Bearer ${gatewayKey}` };

async function expectStatus(
  url: string,
  request: RawRequest,
  status: number,
  body?: RegExp,
): Promise<RawAnswer> {
  const answer = await rawRequest(url, request);
  assert.equal(
    answer.status,
    status,
    `${request.method ?? 'GET'} ${request.target}: ${answer.status} ${answer.body}`,
  );
  if (body !== undefined) assert.match(answer.body, body);
  return answer;
}

const controlPlaneHeaders = (fronts: FrontEnds): Record<string, string> => ({
  ...json,
  authorization: `Bearer ${fronts.controlPlane.token}`,
});

async function grpcRefusal(call: Promise<unknown>, code: grpcStatus, details: RegExp): Promise<void> {
  const error = await call.then(
    () => assert.fail(`expected gRPC status ${code}`),
    (caught: unknown) => caught as ServiceError,
  );
  assert.equal(error.code, code, error.details);
  assert.match(error.details, details);
}

async function cliRefusal(fronts: FrontEnds, args: string[], code: number, stderr: RegExp): Promise<void> {
  const result = await runBerth(args, { workspace: fronts.workspace.dir, cwd: fronts.scratch });
  assert.equal(result.code, code, `berth ${args.join(' ')}: exit ${result.code}, ${result.stderr}`);
  assert.match(result.stderr, stderr);
  assert.doesNotMatch(result.stderr, /INTERNAL/);
}

function yamlRefusal(text: string, file: string, message: RegExp): void {
  assert.throws(
    () => readDeploymentYaml(text, file),
    (error: unknown) => hasErrorCode(error, 'INVALID_SPEC') && message.test(error.message),
  );
}

const HUGE_SHAPE = [1e9, 3, 48, 192];
const hugeShape = JSON.stringify({
  inputs: [{ name: 'x', datatype: 'FP32', shape: HUGE_SHAPE, data: [1, 2, 3] }],
});
const hugeShapeMessage = /has 3 values but shape \[1000000000,3,48,192\] needs 27648000000000/;

const oversizedSpec = `name: blue\nendpoint_name: ocr\n# ${'x'.repeat(maxSpecBytes)}\n`;

export const probes: Probe[] = [
  {
    name: 'shape [1e9, 3, 48, 192] with three values: 400 before anything is allocated',
    on: {
      'scoring-http': async ({ scoring }) => {
        const target = '/v2/models/linear/infer';
        await expectStatus(
          scoring.url,
          { method: 'POST', target, headers: json, body: Buffer.from(hugeShape) },
          400,
          hugeShapeMessage,
        );
      },
      gateway: async ({ gateway }) => {
        const target = '/endpoints/hostile/v2/models/linear/infer';
        await expectStatus(
          gateway.url,
          { method: 'POST', target, headers: withKey, body: Buffer.from(hugeShape) },
          400,
          hugeShapeMessage,
        );
      },
      grpc: ({ grpc }) =>
        grpcRefusal(
          grpc.call('ModelInfer', {
            model_name: 'linear',
            inputs: [
              { name: 'x', datatype: 'FP32', shape: HUGE_SHAPE, contents: { fp32_contents: [1, 2, 3] } },
            ],
          }),
          grpcStatus.INVALID_ARGUMENT,
          /27648000000000/,
        ),
    },
  },
  {
    name: 'a path that leaves its route (v2/../metrics, encoded or not) never reaches /metrics',
    on: {
      gateway: async ({ gateway }) => {
        for (const target of [
          '/endpoints/hostile/v2/../metrics',
          '/endpoints/hostile/v2/%2e%2e/metrics',
          '/endpoints/hostile/v2/..%2fmetrics',
          '/endpoints/hostile/v2/..\\metrics',
        ]) {
          const answer = await rawRequest(gateway.url, { target, headers: withKey });
          assert.ok(answer.status === 400 || answer.status === 404, `${target}: ${answer.status}`);
          assert.doesNotMatch(answer.body, /berth_http_requests_total/);
        }
      },
      'scoring-http': async ({ scoring }) => {
        const answer = await rawRequest(scoring.url, {
          target: '/v2/../metrics/../v2/models/linear/../../../metrics',
        });
        assert.ok(answer.status === 400 || answer.status === 404, `${answer.status} ${answer.body}`);
      },
      // The open route's path resolved onto one behind the token still needs the token.
      'control-plane': async ({ controlPlane }) => {
        await expectStatus(controlPlane.url, { target: '/openapi.json/../api/status' }, 401);
        await expectStatus(controlPlane.url, { target: '/openapi.json/%2e%2e/api/status' }, 401);
      },
    },
  },
  {
    name: 'malformed percent-encoding (%E0%A4%A): 400, not 500 "URI malformed"',
    on: {
      gateway: async ({ gateway }) => {
        await expectStatus(
          gateway.url,
          { method: 'POST', target: '/endpoints/%E0%A4%A/score', headers: withKey, body: Buffer.from('{}') },
          400,
          /malformed percent-encoding/,
        );
        await expectStatus(
          gateway.url,
          {
            method: 'POST',
            target: '/endpoints/hostile/score?x=%E0%A4%A',
            headers: withKey,
            body: Buffer.from('{}'),
          },
          400,
          /malformed percent-encoding/,
        );
      },
      'scoring-http': async ({ scoring }) => {
        await expectStatus(
          scoring.url,
          { method: 'POST', target: '/v2/models/%E0%A4%A/infer', headers: json, body: Buffer.from('{}') },
          400,
          /percent-encoding/,
        );
      },
      'control-plane': async (fronts) => {
        const answer = await rawRequest(fronts.controlPlane.url, {
          target: '/api/endpoints/%E0%A4%A',
          headers: controlPlaneHeaders(fronts),
        });
        assert.ok(answer.status === 400 || answer.status === 404, `${answer.status} ${answer.body}`);
      },
    },
  },
  {
    name: 'a body declared larger than the limit (Content-Length 200 MB): 413 at once',
    on: {
      gateway: async ({ gateway }) => {
        const answer = await expectStatus(
          gateway.url,
          {
            method: 'POST',
            target: '/endpoints/hostile/score',
            headers: { ...withKey, 'content-length': String(200 * 1024 * 1024) },
            body: Buffer.from('{"data":'),
          },
          413,
          new RegExp(`gateway's limit of ${limits.bodyBytes} bytes`),
        );
        assert.equal(answer.headers['berth-error-code'], 'PAYLOAD_TOO_LARGE');
      },
      'scoring-http': async ({ scoring }) => {
        await expectStatus(
          scoring.url,
          {
            method: 'POST',
            target: '/score',
            headers: { ...json, 'content-length': String(200 * 1024 * 1024) },
            body: Buffer.from('{"data":'),
          },
          413,
        );
      },
      'control-plane': async (fronts) => {
        await expectStatus(
          fronts.controlPlane.url,
          {
            method: 'POST',
            target: '/api/endpoints',
            headers: { ...controlPlaneHeaders(fronts), 'content-length': String(200 * 1024 * 1024) },
            body: Buffer.from('{"spec":'),
          },
          413,
        );
      },
    },
  },
  {
    name: 'a chunked body that streams past the limit: 413 while it streams',
    on: {
      gateway: async ({ gateway }) => {
        const stream = { chunkBytes: 16 * 1024, maxBytes: 64 * limits.bodyBytes };
        await expectStatus(
          gateway.url,
          { method: 'POST', target: '/endpoints/hostile/v2/models/linear/infer', headers: withKey, stream },
          413,
          /larger than the gateway's limit/,
        );
      },
      'scoring-http': async ({ scoring }) => {
        const stream = { chunkBytes: 16 * 1024, maxBytes: 64 * limits.bodyBytes };
        await expectStatus(
          scoring.url,
          { method: 'POST', target: '/v2/models/linear/infer', headers: json, stream },
          413,
        );
      },
    },
  },
  {
    name: 'headers that never finish: 408, not 400',
    on: {
      'scoring-http': async ({ scoring }) => {
        const answer = await rawRequest(scoring.url, { target: '/v2/health/live', unfinished: true });
        assert.equal(answer.status, 408, answer.body);
      },
    },
  },
  {
    name: 'garbage bytes where a request should be: 400 (gRPC INVALID_ARGUMENT), not INTERNAL',
    on: {
      grpc: ({ grpc }) =>
        grpcRefusal(
          grpc.call('ModelInfer', Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x08])),
          grpcStatus.INVALID_ARGUMENT,
          /./,
        ),
      'scoring-http': async ({ scoring }) => {
        await expectStatus(
          scoring.url,
          {
            method: 'POST',
            target: '/v2/models/linear/infer',
            headers: json,
            body: Buffer.from([0xff, 0x00, 0x7b]),
          },
          400,
        );
      },
      gateway: async ({ gateway }) => {
        await expectStatus(
          gateway.url,
          {
            method: 'POST',
            target: '/endpoints/hostile/score',
            headers: withKey,
            body: Buffer.from([0xff, 0x00, 0x7b]),
          },
          400,
        );
      },
      'control-plane': async (fronts) => {
        await expectStatus(
          fronts.controlPlane.url,
          {
            method: 'POST',
            target: '/api/endpoints',
            headers: controlPlaneHeaders(fronts),
            body: Buffer.from([0xff, 0x00, 0x7b]),
          },
          400,
        );
      },
    },
  },
  {
    name: 'no key or a wrong one: 401',
    on: {
      gateway: async ({ gateway }) => {
        await expectStatus(
          gateway.url,
          {
            method: 'POST',
            target: '/endpoints/hostile/score',
            headers: { ...json, authorization: 'Bearer not-the-key' },
            body: Buffer.from('{}'),
          },
          401,
        );
      },
      'control-plane': async ({ controlPlane }) => {
        await expectStatus(
          controlPlane.url,
          { target: '/api/status', headers: { authorization: 'Bearer not-the-token' } },
          401,
        );
      },
    },
  },
  {
    name: 'a name that is a path (../x): refused as an invalid name',
    on: {
      'control-plane': async (fronts) => {
        await expectStatus(
          fronts.controlPlane.url,
          {
            method: 'POST',
            target: '/api/endpoints',
            headers: controlPlaneHeaders(fronts),
            body: Buffer.from(JSON.stringify({ spec: { name: '../x' } })),
          },
          400,
        );
      },
      cli: (fronts) =>
        cliRefusal(
          fronts,
          ['model', 'register', '-n', '../x', '-p', join(fronts.scratch, 'none.onnx')],
          2,
          /invalid model name/,
        ),
    },
  },
  {
    name: 'a billion-laughs YAML: the file’s error with its line (exit 2), not INTERNAL',
    on: {
      yaml: async () => yamlRefusal(aliasBomb, 'bomb.yml', /^bomb\.yml:4: invalid YAML: .*alias/),
      cli: async (fronts) => {
        writeFileSync(join(fronts.scratch, 'bomb.yml'), aliasBomb.replace('endpoint_name: ocr\n', ''));
        await cliRefusal(
          fronts,
          ['endpoint', 'create', '-f', 'bomb.yml'],
          2,
          /bomb\.yml:\d+: invalid YAML: .*alias/,
        );
      },
    },
  },
  {
    name: 'a spec file over the size limit: refused at once, naming its size and the limit (exit 2)',
    on: {
      yaml: async () =>
        yamlRefusal(oversizedSpec, 'big.yml', new RegExp(`over the limit of ${maxSpecBytes} bytes`)),
      cli: async (fronts) => {
        writeFileSync(join(fronts.scratch, 'big.yml'), oversizedSpec);
        await cliRefusal(
          fronts,
          ['endpoint', 'create', '-f', 'big.yml'],
          2,
          new RegExp(
            `big\\.yml: the spec is ${Buffer.byteLength(oversizedSpec)} bytes, over the limit of ${maxSpecBytes} bytes`,
          ),
        );
      },
    },
  },
  {
    name: 'a key given twice in one mapping: the file’s error at the second one',
    on: {
      yaml: async () =>
        yamlRefusal(
          'name: a\nendpoint_name: b\nname: c\n',
          'twice.yml',
          /^twice\.yml:3: .*"name" appears twice/,
        ),
    },
  },
  {
    name: 'keys kept off the command line (ps shows --key): a bad --key-file is refused by name, exit 2',
    on: {
      cli: async (fronts) => {
        const file = join(fronts.scratch, 'keys');
        writeFileSync(file, 'first-key-0123\nsecond-key-0123\nthird-key-0123\n', { mode: 0o600 });
        await cliRefusal(
          fronts,
          ['serve', 'linear:1', '--key-file', file],
          2,
          /--key-file .*keys must hold one or two keys/,
        );
        await cliRefusal(
          fronts,
          ['serve', 'linear:1', '--key', 'k-0123456789', '--key-file', file],
          2,
          /not both/,
        );
      },
    },
  },
  {
    name: 'model download into a path that is a file: exit 2 naming it',
    on: {
      cli: async (fronts) => {
        const file = join(fronts.scratch, 'a-file');
        writeFileSync(file, 'x');
        await cliRefusal(
          fronts,
          ['model', 'download', 'linear:1', file],
          2,
          /a-file.*is a file, not a folder/,
        );
      },
    },
  },
  {
    name: 'a folder model with a file named ..\\..\\x: refused at registration (exit 2)',
    on: {
      cli: async (fronts) => {
        const folder = join(fronts.scratch, 'backslashed');
        mkdirSync(folder, { recursive: true });
        writeModel(folder, 'model.onnx', buildLinearModel());
        writeFileSync(join(folder, '..\\..\\x'), 'x');
        await cliRefusal(
          fronts,
          ['model', 'register', '-n', 'escape', '-p', folder],
          2,
          /holds a file named/,
        );
      },
    },
  },
  {
    name: 'instance_count: 100000: refused before anything starts, naming what the target holds (exit 2)',
    on: {
      cli: async (fronts) => {
        const endpoint = await runBerth(['endpoint', 'create', '--name', 'runaway'], {
          workspace: fronts.workspace.dir,
          cwd: fronts.scratch,
        });
        assert.equal(endpoint.code, 0, endpoint.stderr);
        writeFileSync(
          join(fronts.scratch, 'runaway.yml'),
          linearDeployment('blue', 'runaway').replace('instance_count: 1', 'instance_count: 100000'),
        );
        await cliRefusal(
          fronts,
          ['deployment', 'create', '-f', 'runaway.yml'],
          2,
          /instance_count 100000 is more than target "local" can hold, at most \d+ replica/,
        );
        const listed = await runBerth(['deployment', 'list', '-e', 'runaway', '--json'], {
          workspace: fronts.workspace.dir,
        });
        assert.equal(listed.code, 0, listed.stderr);
        assert.deepEqual(JSON.parse(listed.stdout), [], 'nothing recorded, nothing spawned');
      },
    },
  },
];
