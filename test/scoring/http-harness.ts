/**
 * Set-up for the HTTP front-end tests: fixture models written to a temp folder, a real scoring
 * server (real engine, real sockets on port 0) and small request helpers.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelToServe } from '../../src/scoring/engine.js';
import { resolveScoringOptions, type ScoringOptions } from '../../src/scoring/options.js';
import {
  startScoringServer,
  type ScoringServerDependencies,
  type ScoringServerHandle,
} from '../../src/scoring/server.js';
import { buildAddModel, writeModel } from '../fixtures/onnx-builder.js';

export { linearModel, tempDir } from './engine-helpers.js';

export function addModel(dir: string): ModelToServe {
  const modelDir = join(dir, 'add');
  return {
    name: 'add',
    version: '1',
    framework: 'onnx',
    modelDir,
    modelFile: writeModel(modelDir, 'model.onnx', buildAddModel()),
    signature: {
      inputs: [
        { name: 'a', datatype: 'FP32', shape: ['batch', 2] },
        { name: 'b', datatype: 'FP32', shape: ['batch', 2] },
      ],
      outputs: [{ name: 'sum', datatype: 'FP32', shape: ['batch', 2] }],
      opset: 13,
      producer: 'berth',
    },
  };
}

/** A script-only model whose `run` sleeps `input.sleep` ms, throws when `input.fail` is set, and echoes. */
export function sleepyScript(dir: string): { script: string; model: ModelToServe } {
  const modelDir = join(dir, 'sleepy');
  writeModel(modelDir, 'README', new TextEncoder().encode('no model file'));
  const script = join(dir, 'score.js');
  writeFileSync(
    script,
    [
      'export const outputSchema = { type: "object" };',
      'export async function run(input) {',
      '  const ms = (input && input.sleep) || 0;',
      '  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));',
      '  if (input && input.fail) throw new Error("boom: " + input.fail);',
      '  return { ok: true, echo: input };',
      '}',
    ].join('\n'),
  );
  return {
    script,
    model: {
      name: 'sleepy',
      version: '1',
      framework: 'custom',
      modelDir,
      modelFile: undefined,
      signature: null,
    },
  };
}

export interface TestServer {
  url: string;
  handle: ScoringServerHandle;
  close(): Promise<void>;
}

export async function startTestServer(
  options: ScoringOptions,
  dependencies: ScoringServerDependencies = {},
): Promise<TestServer> {
  const resolved = resolveScoringOptions({ port: 0, workers: 1, logLevel: 'silent', ...options });
  const handle = await startScoringServer(resolved, dependencies);
  await handle.ready;
  return { url: `http://127.0.0.1:${handle.httpPort}`, handle, close: () => handle.close() };
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: () => unknown;
}

export async function call(
  url: string,
  init: { method?: string; body?: string | Uint8Array; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    body: init.body,
    headers:
      init.body !== undefined && typeof init.body === 'string'
        ? { 'content-type': 'application/json', ...init.headers }
        : init.headers,
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: () => JSON.parse(text) as unknown,
  };
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return call(url, { body: JSON.stringify(body), headers });
}

/** y = x·[0.5,-1,2] + 0.25 in float32 arithmetic. */
export function linear(row: readonly number[]): number {
  return Math.fround(
    Math.fround(0.5 * row[0]!) + Math.fround(-1 * row[1]!) + Math.fround(2 * row[2]!) + 0.25,
  );
}
