/**
 * `berth model register --framework sklearn|pytorch|python` and what `model show` reads of them,
 * against models trained at test time.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runBerth } from '../helpers/cli.js';
import { berthOk, python, pythonMissing, trainSklearn, trainTorch } from './helpers.js';

describe('Python model frameworks in the registry', { skip: pythonMissing }, () => {
  let root: string;
  let workspace: string;
  let sklearnFile: string;
  let torchFile: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-python-registry-'));
    workspace = join(root, 'ws');
    sklearnFile = join((await trainSklearn(join(root, 'sklearn'))).dir, 'model.pkl');
    torchFile = join((await trainTorch(join(root, 'torch'))).dir, 'model.pt');
    await berthOk(workspace, 'init');
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('registers a scikit-learn estimator and shows its type, features and classes', async () => {
    const out = await berthOk(
      workspace,
      'model',
      'register',
      '-n',
      'iris',
      '-p',
      sklearnFile,
      '-f',
      'sklearn',
    );
    assert.match(out, /registered iris:1 \(sklearn,/);
    const shown = await berthOk(workspace, 'model', 'show', 'iris');
    assert.match(shown, /estimator: +sklearn\.linear_model\._logistic\.LogisticRegression/);
    assert.match(shown, /features: +4/);
    assert.match(shown, /classes: +0, 1, 2/);
  });

  it("registers a TorchScript module and shows forward()'s inputs", async () => {
    await berthOk(workspace, 'model', 'register', '-n', 'tiny', '-p', torchFile, '-f', 'pytorch');
    const shown = await berthOk(workspace, 'model', 'show', 'tiny:1');
    assert.match(shown, /kind: +torchscript/);
    assert.match(shown, /module: +Tiny/);
    assert.match(shown, /inputs:\n {4}images: Tensor/);
  });

  it('registers a state dict with the code that builds its module, and shows its size', async () => {
    const folder = join(root, 'state-dict');
    await mkdir(folder);
    await writeFile(join(folder, 'net.py'), 'import torch\nclass Net(torch.nn.Linear):\n    pass\n');
    const saved = spawnSync(python, [
      '-c',
      `import torch; torch.manual_seed(0); torch.save(torch.nn.Linear(3, 2).state_dict(), ${JSON.stringify(join(folder, 'weights.pth'))})`,
    ]);
    assert.equal(saved.status, 0, String(saved.stderr));
    await berthOk(workspace, 'model', 'register', '-n', 'linear-sd', '-p', folder, '-f', 'pytorch');
    const shown = await berthOk(workspace, 'model', 'show', 'linear-sd');
    assert.match(shown, /kind: +state_dict/);
    assert.match(shown, /parameters: +8/);
    assert.match(shown, /scripts: +net\.py/);
  });

  it('refuses a file that does not load as the framework named, saying why', async () => {
    const refused = await runBerth(['model', 'register', '-n', 'wrong', '-p', torchFile, '-f', 'sklearn'], {
      workspace,
    });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /framework sklearn: .*model\.pt does not load: UnpicklingError/);
  });

  it('registers any folder as framework python', async () => {
    const folder = join(root, 'anything');
    await mkdir(folder);
    await writeFile(join(folder, 'lookup.json'), '{"a": 1}');
    const out = await berthOk(workspace, 'model', 'register', '-n', 'lookup', '-p', folder, '-f', 'python');
    assert.match(out, /registered lookup:1 \(python,/);
  });
});
