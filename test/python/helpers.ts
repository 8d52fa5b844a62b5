/**
 * Set-up for the Python runtime tests: the interpreter berth would choose, models trained at test
 * time by the scripts in fixtures/ (with the in-process predictions to compare served answers
 * with), and a workspace holding them.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { choosePython } from '../../src/core/python-interpreter.js';
import { repoRoot, runBerth } from '../helpers/cli.js';

export const python = choosePython(undefined).path;
export const fixtures = join(repoRoot, 'test', 'python', 'fixtures');
export const examples = join(repoRoot, 'examples', 'python');

/** Why the Python tests cannot run here, or undefined when the interpreter has what they need. */
export const pythonMissing: string | undefined = (() => {
  const probe = spawnSync(python, ['-c', 'import numpy, pandas, sklearn, joblib, torch'], {
    encoding: 'utf8',
  });
  return probe.status === 0 ? undefined : `${python} cannot import numpy, pandas, sklearn and torch`;
})();

export interface SklearnFixture {
  dir: string;
  inputs: number[][];
  proba: number[][];
  predict: number[];
}

export interface TorchFixture {
  dir: string;
  images: number[][][][];
  probabilities: number[][];
}

function train(script: string, out: string): void {
  const result = spawnSync(python, [join(fixtures, script), out], { encoding: 'utf8' });
  assert.equal(result.status, 0, `${script} failed: ${result.stderr}`);
}

export async function trainSklearn(out: string): Promise<SklearnFixture> {
  train('train_sklearn.py', out);
  const expected = JSON.parse(await readFile(join(out, 'expected.json'), 'utf8')) as Omit<
    SklearnFixture,
    'dir'
  >;
  return { dir: out, ...expected };
}

export async function trainTorch(out: string): Promise<TorchFixture> {
  train('train_torch.py', out);
  const expected = JSON.parse(await readFile(join(out, 'expected.json'), 'utf8')) as Omit<
    TorchFixture,
    'dir'
  >;
  return { dir: out, ...expected };
}

export async function berthOk(workspace: string, ...args: string[]): Promise<string> {
  const result = await runBerth(args, { workspace });
  assert.equal(result.code, 0, `berth ${args.join(' ')}: exit ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** Asserts two number tables are equal to within float32 rounding. */
export function assertClose(actual: unknown, expected: number[][], tolerance = 1e-6): void {
  assert.ok(Array.isArray(actual), `expected rows, got ${JSON.stringify(actual)}`);
  const rows = actual as number[][];
  assert.equal(rows.length, expected.length);
  rows.forEach((row, i) => {
    const want = expected[i]!;
    assert.equal(row.length, want.length);
    row.forEach((value, j) =>
      assert.ok(Math.abs(value - want[j]!) <= tolerance, `[${i}][${j}] ${value} != ${want[j]}`),
    );
  });
}
