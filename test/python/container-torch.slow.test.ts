/**
 * PyTorch on the container target, against the real Docker Engine: a TorchScript classifier scripted
 * at test time is deployed with examples/python/pytorch-classifier/score.py, unchanged, and a
 * requirements.txt naming torch. The image's Python layer gets Debian's python3-torch from this
 * machine's packages; the container's answers equal the in-process torch softmax, and the script's
 * own log line says it chose the CPU (no GPU is given to containers).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPLICA_TOKEN_HEADER } from '../../src/scoring/auth.js';
import type { ContainerTarget } from '../../src/targets/container/index.js';
import type { LogLine } from '../../src/targets/target.js';
import { createTestContainerTarget, dockerOrSkip, testEngine } from '../fixtures/docker-base-image.js';
import { send } from '../helpers/http.js';
import { deploymentSpec, tempDir } from '../targets/helpers.js';
import { assertClose, examples, pythonMissing, trainTorch, type TorchFixture } from './helpers.js';

const skip = pythonMissing ?? (await dockerOrSkip());

describe('a PyTorch scoring script on the container target', { skip, timeout: 900_000 }, () => {
  const dir = tempDir('python-torch-container');
  const name = `pytorch${process.pid}`;
  let fixture: Awaited<ReturnType<typeof createTestContainerTarget>> | undefined;
  let target: ContainerTarget;
  let torch: TorchFixture;

  before(async () => {
    torch = await trainTorch(join(dir.path, 'model'));
    fixture = await createTestContainerTarget(name);
    target = fixture.target;
  });
  after(async () => {
    await fixture?.cleanup();
    dir.remove();
  });

  it('builds python3-torch into the image and answers as the in-process TorchScript module', async () => {
    const code = join(dir.path, 'code');
    mkdirSync(code);
    copyFileSync(join(examples, 'pytorch-classifier', 'score.py'), join(code, 'score.py'));
    writeFileSync(join(code, 'requirements.txt'), 'torch\n');
    const messages: string[] = [];
    const handle = await target.deploy(
      deploymentSpec(
        {
          name: 'classifier',
          version: 1,
          framework: 'pytorch',
          modelDir: torch.dir,
          modelFile: undefined,
          sha256: '2'.repeat(64),
          sizeBytes: 1,
          signature: null,
        },
        {
          target: name,
          deploymentName: 'torch',
          codeDir: code,
          scoringScript: join(code, 'score.py'),
          // Importing torch and loading the module takes seconds on a busy machine.
          requestSettings: {
            requestTimeoutMs: 60_000,
            maxConcurrentRequestsPerInstance: 4,
            maxQueueWaitMs: 500,
          },
        },
      ),
      (message) => messages.push(message),
    );
    const log = messages.join('\n');
    assert.match(log, /image python layer (built in \d+ ms|reused: berth\/python:\w+)/, log);
    try {
      const [replica] = target.currentReplicas(handle);
      assert.ok(replica?.url !== undefined && replica.token !== undefined);
      const answer = await send(`${replica.url}/score`, {
        headers: { [REPLICA_TOKEN_HEADER]: replica.token },
        body: { images: torch.images },
      });
      assert.equal(answer.status, 200, answer.body);
      const rows = JSON.parse(answer.body) as { label: string; probabilities: number[] }[];
      assertClose(
        rows.map((row) => row.probabilities),
        torch.probabilities,
      );
      const labels = ['cat', 'dog', 'bird', 'fish'];
      rows.forEach((row, i) => {
        const best = torch.probabilities[i]!.indexOf(Math.max(...torch.probabilities[i]!));
        assert.equal(row.label, labels[best]);
      });

      const images = await testEngine().listImages({
        filters: JSON.stringify({ label: ['berth.layer=python'] }),
      });
      assert.ok(
        images.some((image) => image.Labels['berth.python-packages']?.includes('python3-torch=')),
        JSON.stringify(images.map((image) => image.Labels)),
      );
      const lines: LogLine[] = [];
      for await (const line of target.logs(handle, { lines: 200, follow: false })) lines.push(line);
      assert.ok(
        lines.some((line) => line.text.includes('classifier ready on cpu')),
        JSON.stringify(lines.map((line) => line.text)),
      );
    } finally {
      await target.remove(handle);
    }
  });
});
