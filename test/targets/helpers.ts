/**
 * Set-up for the target tests: fixture models and scripts in a temp folder, resolved deployment
 * specs with fast probes, and polling. HTTP is test/helpers/http.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedDeployment } from '../../src/targets/target.js';
import { buildLinearModel, writeModel } from '../fixtures/onnx-builder.js';

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `berth-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

const fastProbe = {
  initialDelayMs: 0,
  periodMs: 200,
  timeoutMs: 1000,
  successThreshold: 1,
  failureThreshold: 3,
};

export function linearDeployment(
  dir: string,
  overrides: Partial<ResolvedDeployment> = {},
): ResolvedDeployment {
  const modelDir = join(dir, 'linear-1');
  const bytes = buildLinearModel();
  const modelFile = writeModel(modelDir, 'model.onnx', bytes);
  return deploymentSpec(
    {
      name: 'linear',
      version: 1,
      framework: 'onnx',
      modelDir,
      modelFile,
      sha256: '0'.repeat(64),
      sizeBytes: bytes.byteLength,
      signature: {
        inputs: [{ name: 'x', datatype: 'FP32', shape: ['batch', 3] }],
        outputs: [{ name: 'y', datatype: 'FP32', shape: ['batch', 1] }],
        opset: 13,
        producer: 'berth',
      },
    },
    overrides,
  );
}

/** A spec for `model` with fast probes and one instance; `overrides` replace whole fields. */
export function deploymentSpec(
  model: ResolvedDeployment['model'],
  overrides: Partial<ResolvedDeployment> = {},
): ResolvedDeployment {
  return {
    endpointName: 'ep',
    deploymentName: 'blue',
    target: 'local',
    model,
    scoringScript: undefined,
    codeDir: undefined,
    condaFile: undefined,
    instanceCount: 1,
    requestSettings: { requestTimeoutMs: 5000, maxConcurrentRequestsPerInstance: 4, maxQueueWaitMs: 500 },
    livenessProbe: fastProbe,
    readinessProbe: fastProbe,
    environmentVariables: {},
    batching: { enabled: false, maxBatchSize: 8, maxQueueDelayMs: 2 },
    resources: { cpu: undefined, memoryBytes: undefined, gpu: 0 },
    dataCollection: undefined,
    ...overrides,
  };
}

/** A script-only deployment: `run` echoes, sleeps `input.sleep` ms, throws on `input.fail`. */
export function scriptDeployment(
  dir: string,
  source: string,
  overrides: Partial<ResolvedDeployment> = {},
): ResolvedDeployment {
  const codeDir = mkdtempSync(join(dir, 'code-'));
  const scoringScript = join(codeDir, 'score.js');
  writeFileSync(scoringScript, source);
  const modelDir = join(codeDir, 'model');
  writeModel(modelDir, 'README', new TextEncoder().encode('no model file'));
  const base = linearDeployment(dir);
  return {
    ...base,
    model: {
      ...base.model,
      name: 'scripted',
      framework: 'custom',
      modelDir,
      modelFile: undefined,
      signature: null,
      sizeBytes: 13,
    },
    scoringScript,
    codeDir,
    ...overrides,
  };
}

export const echoScript = [
  'export async function init() { console.log("init done for " + process.env.BERTH_DEPLOYMENT); }',
  'export async function run(input) {',
  '  const ms = (input && input.sleep) || 0;',
  '  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));',
  '  if (input && input.fail) throw new Error("boom: " + input.fail);',
  '  return { ok: true, deployment: process.env.BERTH_DEPLOYMENT, pid: process.pid, echo: input };',
  '}',
].join('\n');

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const noProgress = (): void => undefined;

/** The pids of `pids` (a local handle's `data.pids`) that are still alive, as text. */
export function livePids(pids: readonly unknown[]): string[] {
  return pids
    .filter((pid): pid is number => typeof pid === 'number')
    .filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    })
    .map((pid) => `pid ${pid}`);
}
