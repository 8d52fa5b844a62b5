/**
 * `berth package` both ways against the real Docker Engine, as the README's container section runs
 * it: the build context `--output` writes is built by the engine as it stands and served, and the
 * image `--image` builds is run under its tag and served. Each answer comes from ONNX Runtime inside
 * the container. The base image is the one the tests make on this machine (no registry is
 * reachable); outside CI a missing engine skips the suite with a message.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { folderEntries } from '../../src/targets/container/build-context.js';
import { tarStream } from '../../src/targets/container/tar.js';
import {
  dockerOrSkip,
  ensureTestBaseImage,
  testDockerHost,
  testEngine,
} from '../fixtures/docker-base-image.js';
import { ocrClassifierPath, repoRoot, runBerth, withTempDir, type CliResult } from '../helpers/cli.js';
import { send } from '../helpers/http.js';

const skip = await dockerOrSkip();
const linearPath = join(repoRoot, 'examples/models/linear.onnx');
const ocrRequest = join(repoRoot, 'examples/endpoints/ocr/request.json');

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return result;
}

async function followBuild(engine: Docker, stream: NodeJS.ReadableStream): Promise<string> {
  const output = await new Promise<{ stream?: string; error?: string }[]>((resolve, reject) =>
    engine.modem.followProgress(stream, (error: Error | null, messages: { stream?: string }[]) =>
      error === null ? resolve(messages) : reject(error),
    ),
  );
  const text = output.map((message) => message.stream ?? '').join('');
  const failed = output.find((message) => message.error !== undefined);
  assert.equal(failed, undefined, `docker build failed: ${failed?.error}\n${text}`);
  return text;
}

/** Runs `image` with its port on a loopback port the engine picks; resolves once it answers "Healthy". */
async function serveImage(
  image: string,
  name: string,
): Promise<{ url: string; remove: () => Promise<void> }> {
  const engine = testEngine();
  const container = await engine.createContainer({
    Image: image,
    name,
    Labels: { 'berth.test': name },
    HostConfig: {
      PortBindings: { '5001/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
      Memory: 512 * 1024 ** 2,
    },
  });
  const remove = () => container.remove({ force: true }).then(() => undefined);
  try {
    await container.start();
    const port = (await container.inspect()).NetworkSettings.Ports['5001/tcp']?.[0]?.HostPort;
    assert.ok(port, 'the engine published the scoring port');
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const answer = await send(`${url}/`, { keepAlive: false }).catch(() => undefined);
      if (answer?.status === 200 && answer.body === 'Healthy') return { url, remove };
      const state = (await container.inspect()).State;
      if (!state.Running || Date.now() > deadline) {
        const logs = (await container.logs({ stdout: true, stderr: true, tail: 30 })).toString('utf8');
        assert.fail(`${image} did not come up (${state.Status}, exit ${state.ExitCode}):\n${logs}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } catch (error) {
    await remove();
    throw error;
  }
}

describe('berth package against the Docker Engine', { skip }, () => {
  const suffix = `${process.pid}-${Date.now().toString(36)}`;
  const cleanups: (() => Promise<unknown>)[] = [];
  let baseImage: string;
  before(async () => {
    baseImage = await ensureTestBaseImage();
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  it('--output: the engine builds the context as written, and the container scores', async () => {
    await withTempDir('package-context', async (dir) => {
      const workspace = join(dir, 'ws');
      const berth = (...args: string[]) => runBerth(args, { workspace, cwd: dir });
      ok(await berth('init'));
      ok(await berth('model', 'register', '--name', 'linear', '--path', linearPath));
      const context = join(dir, 'image-context');
      ok(await berth('package', 'linear:1', '--output', './image-context', '--base-image', baseImage));

      const engine = testEngine();
      const tag = `berth-test-package-context:${suffix}`;
      const build = await engine.buildImage(tarStream(await folderEntries(context, '')), {
        t: tag,
        rm: true,
      });
      const log = await followBuild(engine, build);
      cleanups.push(() => engine.getImage(tag).remove());
      assert.match(log, /Successfully tagged/);
      const labels = (await engine.getImage(tag).inspect()).Config.Labels;
      assert.equal(labels['berth.model'], 'linear:1');
      assert.match(await readFile(join(context, 'Dockerfile'), 'utf8'), /^HEALTHCHECK /m);

      const served = await serveImage(tag, `berth-test-package-context-${suffix}`);
      cleanups.push(served.remove);
      const answer = await send(`${served.url}/score`, { body: { data: [[1, 2, 3]] } });
      assert.equal(answer.status, 200, answer.body);
      // y = 0.5*x0 - x1 + 2*x2 + 0.25
      assert.deepEqual(JSON.parse(answer.body), [[4.75]]);
    });
  });

  it('--image: the README command builds and tags the image, which serves the model', async () => {
    await withTempDir('package-image', async (dir) => {
      const workspace = join(dir, 'ws');
      const berth = (...args: string[]) => runBerth(args, { workspace, cwd: dir });
      ok(await berth('init'));
      ok(await berth('model', 'register', '--name', 'ocr-cls', '--path', ocrClassifierPath));
      const tag = `berth-test-ocr-cls:${suffix}`;
      const built = ok(
        await berth(
          'package',
          'ocr-cls:1',
          '--image',
          tag,
          '--base-image',
          baseImage,
          '--docker-host',
          testDockerHost(),
        ),
      );
      const engine = testEngine();
      cleanups.push(() => engine.getImage(tag).remove());
      const key = /^image (\S+) built \(berth\.key ([0-9a-f]{16})\)\n$/.exec(built.stdout);
      assert.ok(key, built.stdout);
      assert.equal(key[1], tag);
      const labels = (await engine.getImage(tag).inspect()).Config.Labels;
      assert.equal(labels['berth.model'], 'ocr-cls:1');
      assert.equal(labels['berth.key']?.slice(0, 16), key[2]);
      assert.equal(labels['berth.base-image'], baseImage);

      assert.match(built.stderr, /^image app layer (built in \d+ ms|reused: berth\/app:\w+)$/m, 'progress');

      const again = ok(
        await berth('package', 'ocr-cls:1', '--image', tag, '--base-image', baseImage, '--json'),
      );
      assert.equal((JSON.parse(again.stdout) as { key: string }).key, labels['berth.key'], 'the same image');
      assert.equal(again.stderr, '', 'no progress lines with --json');

      const served = await serveImage(tag, `berth-test-ocr-cls-${suffix}`);
      cleanups.push(served.remove);
      const answer = await send(`${served.url}/score`, {
        raw: await readFile(ocrRequest),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(answer.status, 200, answer.body);
      const [scores] = JSON.parse(answer.body) as number[][];
      assert.equal(scores?.length, 2, answer.body);
      assert.ok(Math.abs((scores[0] ?? 0) + (scores[1] ?? 0) - 1) < 1e-5, 'two probabilities that sum to 1');
    });
  });
});
