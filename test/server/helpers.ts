/**
 * Shared by the control-plane tests: a workspace with the linear model, deployment YAML, scoring
 * through the gateway, polling.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Workspace } from '../../src/sdk/workspace.js';
import { stopServer } from '../../src/sdk/control-plane-process.js';
import { buildLinearModel, writeModel } from '../fixtures/onnx-builder.js';
import { send, type Answer } from '../helpers/http.js';

export interface TestWorkspace {
  root: string;
  dir: string;
  /** Writes `<root>/<name>.yml` and returns its path. */
  yaml(name: string, text: string): Promise<string>;
  /** Stops the workspace's server (if any) and removes every file. */
  cleanup(): Promise<void>;
}

/** A fresh workspace with `linear:1` registered ([batch,3] → [batch,1]; [[1,2,3]] scores [[4.75]]). */
export async function linearWorkspace(label: string): Promise<TestWorkspace> {
  const root = await mkdtemp(join(tmpdir(), `berth-${label}-`));
  const dir = join(root, 'ws');
  const workspace = await Workspace.init({ dir });
  try {
    await workspace.models.register({
      name: 'linear',
      path: writeModel(root, 'linear.onnx', buildLinearModel()),
    });
  } finally {
    await workspace.close();
  }
  return {
    root,
    dir,
    async yaml(name, text) {
      const path = join(root, `${name}.yml`);
      await writeFile(path, text);
      return path;
    },
    async cleanup() {
      await stopServer(dir);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A quick-starting deployment of linear:1 (probes every second, no initial delay). */
export function linearDeployment(name: string, endpoint: string, extra = ''): string {
  return `name: ${name}
endpoint_name: ${endpoint}
model: azureml:linear:1
instance_count: 1
request_settings:
  max_concurrent_requests_per_instance: 4
readiness_probe:
  initial_delay: 0
  period: 1
liveness_probe:
  initial_delay: 0
  period: 1
${extra}`;
}

export const linearRequest = JSON.stringify({ data: [[1, 2, 3]] });

/** Scores `linearRequest` at a scoring URI, with a key and a deployment header when given. */
export function scoreWith(url: string, key: string | undefined, deployment?: string): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (key !== undefined) headers.authorization = `Bearer ${key}`;
  if (deployment !== undefined) headers['berth-deployment'] = deployment;
  return send(url, { raw: Buffer.from(linearRequest), headers });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
