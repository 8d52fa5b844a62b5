/**
 * Shared set-up for the batch tests: a fresh workspace in a temp folder with the linear model
 * registered, a BatchOperations over it, and small writers for inputs, scripts and deployments.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { BatchJobStatus, BatchOperations } from '../../src/sdk/batch.js';
import { Workspace } from '../../src/sdk/workspace.js';
import { buildLinearModel, writeModel } from '../fixtures/onnx-builder.js';

export interface BatchFixture {
  dir: string;
  workspace: Workspace;
  batch: BatchOperations;
  /** Writes a file under the fixture folder (folders created) and returns its path. */
  write: (relativePath: string, content: string | Uint8Array) => Promise<string>;
  linearModelPath: string;
}

export async function withBatchFixture<T>(body: (fixture: BatchFixture) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-batch-'));
  const workspace = await Workspace.init({ dir: join(dir, 'ws') });
  try {
    const linearModelPath = writeModel(dir, 'linear.onnx', buildLinearModel());
    await workspace.models.register({ name: 'linear', path: linearModelPath });
    const batch = workspace.batch;
    const write = async (relativePath: string, content: string | Uint8Array): Promise<string> => {
      const path = join(dir, relativePath);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, content);
      return path;
    };
    return await body({ dir, workspace, batch, write, linearModelPath });
  } finally {
    await workspace.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** y = x·[0.5, -1, 2] + 0.25, exact in FP32 for the halves the tests use. */
export function linear(x1: number, x2: number, x3: number): number {
  return 0.5 * x1 - x2 + 2 * x3 + 0.25;
}

/** Parses the predictions CSV the simple way: the tests never write commas inside cells. */
export async function readPredictions(path: string): Promise<{ header: string[]; rows: string[][] }> {
  const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
  return { header: (lines[0] ?? '').split(','), rows: lines.slice(1).map((line) => line.split(',')) };
}

/** A deployment for a scoring script at `script` (relative to the fixture folder). */
export function scriptDeployment(
  script: string,
  settings: Record<string, unknown> = {},
): Record<string, unknown> {
  return { name: 'test-batch', code_configuration: { code: '.', scoring_script: script }, ...settings };
}

/**
 * Starts the job of `score.mjs` (written by the test) over the fixture's `in/` into `out/`, with
 * these deployment settings. `jobId()` answers the job's id once it is created.
 */
export function runScriptJob(
  fixture: BatchFixture,
  settings: Record<string, unknown>,
): { running: Promise<BatchJobStatus>; jobId: () => string | undefined } {
  let jobId: string | undefined;
  const running = fixture.batch.run({
    deployment: scriptDeployment('score.mjs', settings),
    baseDir: fixture.dir,
    input: join(fixture.dir, 'in'),
    output: join(fixture.dir, 'out'),
    onCreated: (id) => (jobId = id),
  });
  return { running, jobId: () => jobId };
}
