/**
 * Batch on the ssh target through the real executable, against the test's own sshd: `berth target
 * create gpu-box --type ssh …`, then `berth batch run … --target gpu-box` runs the workers on the
 * machine and writes the same predictions.csv as the run on this machine, for the tabular example
 * (rows, built-in ONNX scoring) and the OCR example (files, a scoring script, a file that fails
 * alone). The job's folder on the machine is gone afterwards, and no worker is left running.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ocrClassifierPath, repoRoot, runBerth, type CliResult } from '../../helpers/cli.js';
import { sshdMissing, sshTargetArgs, startSshd, type TestSshd } from '../../helpers/sshd.js';

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return result;
}

interface Status {
  state: string;
  engine: string;
  reason?: string;
  items: { total: number; succeeded: number; failed: number };
  output: { predictions: string; report: string };
}

describe('berth batch run --target <an ssh target>', { skip: sshdMissing() }, () => {
  let root: string;
  let workspace: string;
  let sshd: TestSshd;
  let workdir: string;
  const berth = (...args: string[]) => runBerth(args, { workspace });
  const run = async (file: string, input: string, output: string, target: string): Promise<Status> => {
    const result = ok(
      await berth(
        'batch',
        'run',
        '-f',
        file,
        '--input',
        input,
        '--output',
        join(root, output),
        '--target',
        target,
        '--json',
      ),
    );
    const status = JSON.parse(result.stdout) as Status;
    assert.equal(status.state, 'completed', result.stdout);
    return status;
  };

  before(async () => {
    sshd = await startSshd();
    workdir = join(sshd.dir, 'remote');
    root = await mkdtemp(join(tmpdir(), 'berth-ssh-batch-'));
    workspace = join(root, 'ws');
    ok(await berth('init'));
    ok(await berth('model', 'register', '--name', 'ocr-cls', '--path', ocrClassifierPath));
    ok(await berth(...sshTargetArgs(sshd, 'gpu-box', workdir)));
  });
  after(async () => {
    await sshd?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('scores rows with the built-in ONNX scoring as this machine does', async () => {
    const file = join(repoRoot, 'examples/batch/tabular/deployment.yml');
    const input = join(repoRoot, 'examples/batch/tabular/data');
    const here = await run(file, input, 'tabular-local', 'local');
    const there = await run(file, input, 'tabular-ssh', 'gpu-box');
    assert.equal(here.engine, 'embedded');
    assert.equal(there.engine, 'ssh');
    const predictions = await readFile(there.output.predictions, 'utf8');
    assert.ok(predictions.trimEnd().split('\n').length > 10, predictions);
    assert.equal(predictions, await readFile(here.output.predictions, 'utf8'));
  });

  it('ships files and the scoring script; a bad file fails alone, with the key it has here', async () => {
    const images = join(root, 'images');
    await mkdir(images, { recursive: true });
    const values = 3 * 48 * 192;
    for (let i = 0; i < 6; i += 1) {
      const image = new Float32Array(values).map((_, j) => Math.cos(i * 5 + j) / 2);
      await writeFile(join(images, `img${i}.f32`), new Uint8Array(image.buffer));
    }
    await writeFile(join(images, 'broken.f32'), new Uint8Array(12));
    const file = join(repoRoot, 'examples/batch/ocr/deployment.yml');
    const here = await run(file, images, 'ocr-local', 'local');
    const there = await run(file, images, 'ocr-ssh', 'gpu-box');
    assert.deepEqual(there.items, { total: 7, succeeded: 6, failed: 1 });
    assert.equal(
      await readFile(there.output.predictions, 'utf8'),
      await readFile(here.output.predictions, 'utf8'),
    );
    const report = JSON.parse(await readFile(there.output.report, 'utf8')) as {
      failedItems: { key: string }[];
    };
    assert.equal(report.failedItems[0]?.key, 'broken.f32');
    // The job's folder is removed; what stays is the content-addressed cache for the next job.
    const batchDir = join(workdir, 'batch');
    assert.deepEqual(existsSync(batchDir) ? readdirSync(batchDir) : [], []);
    const cache = readdirSync(join(workdir, 'cache'));
    assert.equal(cache.filter((name) => name.startsWith('model-')).length, 2, cache.join(' '));
    const workers = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes('batch-worker.mjs'));
    assert.deepEqual(workers, []);
  });
});
