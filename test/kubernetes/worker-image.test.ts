/**
 * The batch worker image berth builds for a Kubernetes target, without Docker: its name is keyed by
 * what goes into it (the base image and the bundle), and the bundle it carries is `berth worker`
 * itself, which runs under Node with nothing else beside it (its own package.json, ONNX Runtime and
 * esbuild in its node_modules), answering as the CLI does.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { planWorkerImage } from '../../src/targets/kubernetes/worker-image.js';
import { repoRoot } from '../helpers/cli.js';

const run = promisify(execFile);

describe('the batch worker image', () => {
  let cacheDir: string;
  before(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'berth-worker-image-'));
  });
  after(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('is named <registry>/berth-worker:<key>, the key changing with the base image', async () => {
    const config = { registry: 'registry.example.com/ml', baseImage: 'node:20-bookworm-slim', cacheDir };
    const image = await planWorkerImage(config);
    assert.match(image.name, /^registry\.example\.com\/ml\/berth-worker:[0-9a-f]{32}$/);
    assert.equal(image.plan.layers.length, 1);
    assert.equal(image.plan.layers[0]?.labels['berth.layer'], 'worker');
    assert.equal((await planWorkerImage(config)).name, image.name);
    assert.notEqual((await planWorkerImage({ ...config, baseImage: 'node:20' })).name, image.name);
    assert.match(
      (await planWorkerImage({ ...config, registry: undefined })).name,
      /^berth\/berth-worker:[0-9a-f]{32}$/,
    );
  });

  it('carries berth worker bundled: it runs from a folder of its own and refuses bad flags as the CLI does', async () => {
    const image = await planWorkerImage({
      registry: undefined,
      baseImage: 'node:20-bookworm-slim',
      cacheDir,
    });
    const files = image.plan.layers[0]!.files;
    const main = files.find((file) => file.path === 'worker/main.js');
    assert.ok(main?.kind === 'file');
    for (const path of ['worker/node_modules/onnxruntime-node', 'worker/node_modules/esbuild']) {
      assert.ok(
        files.some((file) => file.path === path),
        path,
      );
    }
    const bundle = join(main.source, '..');
    assert.ok(existsSync(join(bundle, 'package.json')));
    // From / so nothing of this checkout can be resolved by walking up.
    const version = await run(process.execPath, [join(bundle, 'main.js'), '--version'], { cwd: '/' });
    const berth = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    assert.equal(version.stdout.trim(), berth.version);
    await assert.rejects(
      run(process.execPath, [join(bundle, 'main.js'), 'worker', '--concurrency', '2'], { cwd: '/' }),
      (error: Error & { code?: number; stderr?: string }) =>
        error.code === 2 && /give --target NAME .* or --cluster redis:\/\/host:port/.test(error.stderr ?? ''),
    );
    await assert.rejects(
      run(process.execPath, [join(bundle, 'main.js'), 'worker', '--target', 'prod'], { cwd: '/' }),
      (error: Error & { code?: number; stderr?: string }) =>
        error.code === 2 && /this worker image has no workspace/.test(error.stderr ?? ''),
    );
  });
});
