/**
 * Every front end of berth, started once for the hostile-input suite, each with the one correct
 * request that must still get the correct answer after a probe:
 * - scoring HTTP and gRPC: a real scoring server serving the linear model (y = x·[0.5,-1,2] + 0.25);
 * - gateway: the endpoint gateway, with a key, in front of that scoring server as its replica;
 * - control plane: `berth server` run in this process over a workspace with linear:1;
 * - CLI: the real executable on that workspace;
 * - YAML: the spec reader the CLI and SDK use.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDeploymentYaml } from '../../src/core/specs/index.js';
import { startGateway, type Gateway } from '../../src/endpoints/index.js';
import { startGrpcServer } from '../../src/scoring/grpc/index.js';
import { runServer, type RunningServer } from '../../src/server/run.js';
import { runBerth } from '../helpers/cli.js';
import { send } from '../helpers/http.js';
import { createClient, type InferenceClient } from '../scoring/grpc-harness.js';
import { linearModel, postJson, startTestServer, type TestServer } from '../scoring/http-harness.js';
import { linearDeployment, linearWorkspace, type TestWorkspace } from '../server/helpers.js';

export type FrontEnd = 'scoring-http' | 'grpc' | 'gateway' | 'control-plane' | 'cli' | 'yaml';

/** Limits set low so that the probes over them stay small. */
export const limits = { bodyBytes: 256 * 1024, headersTimeoutMs: 500 };
export const gatewayKey = 'hostile-gateway-key-0123456789';

export interface FrontEnds {
  scoring: TestServer;
  grpc: InferenceClient;
  gateway: Gateway;
  controlPlane: RunningServer;
  workspace: TestWorkspace;
  /** A folder for files the probes write. */
  scratch: string;
  close(): Promise<void>;
}

export async function startFrontEnds(): Promise<FrontEnds> {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-hostile-'));
  const scoring = await startTestServer(
    {
      models: [linearModel(scratch)],
      grpcPort: 0,
      maxBodyBytes: limits.bodyBytes,
      headersTimeoutMs: limits.headersTimeoutMs,
    },
    { grpc: (options) => startGrpcServer(options) },
  );
  const grpc = createClient(scoring.handle.grpcPort!);
  const gateway = await startGateway({ maxBodyBytes: limits.bodyBytes });
  gateway.setEndpoint({
    name: 'hostile',
    authMode: 'key',
    keys: { primary: gatewayKey, secondary: undefined },
    traffic: { blue: 100 },
    mirror: {},
    deployments: [
      {
        name: 'blue',
        requestSettings: { requestTimeoutMs: 10_000, maxConcurrentRequestsPerInstance: 8 },
        instanceCount: 1,
        replicas: () => [{ id: 'blue-0', url: scoring.url, state: 'ready', restarts: 0, reason: undefined }],
      },
    ],
  });
  const workspace = await linearWorkspace('hostile');
  const controlPlane = await runServer({ workspaceDir: workspace.dir });
  return {
    scoring,
    grpc,
    gateway,
    controlPlane,
    workspace,
    scratch,
    async close() {
      grpc.close();
      await controlPlane.stop();
      await gateway.close();
      await scoring.close();
      await workspace.cleanup();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

export const v2Request = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [2, 0, 1] }] };

/** The correct request of each front end, and its correct answer. */
export const stillCorrect: Record<FrontEnd, (fronts: FrontEnds) => Promise<void>> = {
  async 'scoring-http'({ scoring }) {
    const answer = await postJson(`${scoring.url}/v2/models/linear/infer`, v2Request);
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual((answer.json() as { outputs: { data: number[] }[] }).outputs[0]?.data, [3.25]);
  },
  async grpc({ grpc }) {
    const answer = await grpc.call('ModelInfer', {
      model_name: 'linear',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [2, 0, 1] } }],
    });
    const raw = Buffer.from((answer.raw_output_contents as Buffer[])[0]!);
    assert.deepEqual([...new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4)], [3.25]);
  },
  async gateway({ gateway }) {
    const answer = await send(`${gateway.url}/endpoints/hostile/v2/models/linear/infer`, {
      body: v2Request,
      headers: { authorization: `Bearer ${gatewayKey}` },
    });
    assert.equal(answer.status, 200, answer.body);
    assert.deepEqual((JSON.parse(answer.body) as { outputs: { data: number[] }[] }).outputs[0]?.data, [3.25]);
  },
  async 'control-plane'({ controlPlane }) {
    const answer = await send(`${controlPlane.url}/api/status`, {
      headers: { authorization: `Bearer ${controlPlane.token}` },
    });
    assert.equal(answer.status, 200, answer.body);
    assert.equal((JSON.parse(answer.body) as { pid: number }).pid, process.pid);
  },
  async cli({ workspace }) {
    const list = await runBerth(['model', 'list', '--json'], { workspace: workspace.dir });
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(
      (JSON.parse(list.stdout) as { name: string; version: number }[]).map((m) => `${m.name}:${m.version}`),
      ['linear:1'],
    );
  },
  async yaml() {
    const read = readDeploymentYaml(linearDeployment('blue', 'ocr'), 'deployment.yml');
    assert.equal(read.spec.instance_count, 1);
    assert.deepEqual(read.fileWarnings, []);
  },
};
