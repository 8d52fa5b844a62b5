/** Shared helpers for the workspace tests: temp folders that clean up, and sample model versions. */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewModelVersion } from '../../src/workspace/index.js';

/** A fresh folder under the OS temp dir; `cleanup` removes it. */
export async function makeTempDir(label: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `berth-${label}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function fakeSha(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

export function sampleModel(name: string, overrides: Partial<NewModelVersion> = {}): NewModelVersion {
  return {
    name,
    framework: 'onnx',
    description: 'a test model',
    tags: { stage: 'test' },
    artifact: { kind: 'file', sha256: fakeSha(name), size: 123, fileName: 'model.onnx' },
    modelFile: undefined,
    signature: {
      inputs: [{ name: 'x', datatype: 'FP32', shape: ['batch', 4] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: ['batch', 1] }],
      opset: 17,
      producer: undefined,
    },
    ...overrides,
  };
}
