/**
 * A Python scoring script on the container target, against the real Docker Engine: the image gets a
 * Python layer made of this machine's Debian packages (python3 and what requirements.txt names), a
 * scikit-learn model trained at test time is served from it, and the answers equal the in-process
 * prediction. A requirement no installed Debian package provides is refused before anything is
 * built, naming it. Through the CLI, a deployment file's environment.conda_file is honoured the same way.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import { REPLICA_TOKEN_HEADER } from '../../src/scoring/auth.js';
import type { ContainerTarget } from '../../src/targets/container/index.js';
import type { ResolvedDeployment } from '../../src/targets/target.js';
import { stopServer } from '../../src/sdk/control-plane-process.js';
import {
  createTestContainerTarget,
  dockerOrSkip,
  ensureTestBaseImage,
  testDockerHost,
  testEngine,
} from '../fixtures/docker-base-image.js';
import { send } from '../helpers/http.js';
import { deploymentSpec, tempDir } from '../targets/helpers.js';
import {
  assertClose,
  berthOk,
  examples,
  pythonMissing,
  trainSklearn,
  type SklearnFixture,
} from './helpers.js';

const skip = pythonMissing ?? (await dockerOrSkip());

describe('a Python scoring script on the container target', { skip, timeout: 900_000 }, () => {
  const dir = tempDir('python-container');
  const name = `pyct${process.pid}`;
  let fixture: Awaited<ReturnType<typeof createTestContainerTarget>> | undefined;
  let target: ContainerTarget;
  let sklearn: SklearnFixture;

  const deployment = (code: string, overrides: Partial<ResolvedDeployment> = {}): ResolvedDeployment =>
    deploymentSpec(
      {
        name: 'iris',
        version: 1,
        framework: 'sklearn',
        modelDir: sklearn.dir,
        modelFile: undefined,
        sha256: '1'.repeat(64),
        sizeBytes: 1,
        signature: null,
      },
      {
        target: name,
        deploymentName: 'py',
        codeDir: code,
        scoringScript: join(code, 'score.py'),
        ...overrides,
      },
    );

  const codeFolder = (requirements: string): string => {
    const code = join(dir.path, `code-${Math.random().toString(36).slice(2, 8)}`);
    mkdirSync(code);
    copyFileSync(join(examples, 'sklearn-schema', 'score.py'), join(code, 'score.py'));
    writeFileSync(join(code, 'requirements.txt'), requirements);
    return code;
  };

  before(async () => {
    sklearn = await trainSklearn(join(dir.path, 'model'));
    fixture = await createTestContainerTarget(name);
    target = fixture.target;
  });
  after(async () => {
    await fixture?.cleanup();
    dir.remove();
  });

  it('builds a Python layer from the requirements and serves the model as Python predicts it', async () => {
    const code = codeFolder(
      [
        '# the packages score.py imports',
        'scikit-learn>=1.0',
        'joblib',
        'numpy',
        'inference-schema',
        '',
      ].join('\n'),
    );
    const messages: string[] = [];
    const handle = await target.deploy(deployment(code), (message) => messages.push(message));
    const log = messages.join('\n');
    // Built by this run, or by an earlier one on the same engine (the layer is keyed by its inputs).
    assert.match(log, /image python layer (built in \d+ ms|reused: berth\/python:\w+)/, log);
    assert.match(log, /warning: .*requirements\.txt:2: scikit-learn>=1\.0: Debian's python3-sklearn/, log);
    assert.match(
      log,
      /requirements\.txt:5: inference-schema is not installed: berth's Azure compatibility/,
      log,
    );
    const [replica] = target.currentReplicas(handle);
    assert.ok(replica?.url !== undefined && replica.token !== undefined);
    const answer = await send(`${replica.url}/score`, {
      headers: { [REPLICA_TOKEN_HEADER]: replica.token },
      body: { data: sklearn.inputs },
    });
    assert.equal(answer.status, 200, answer.body);
    assertClose(JSON.parse(answer.body), sklearn.proba);

    const images = await testEngine().listImages({
      filters: JSON.stringify({ label: ['berth.layer=python'] }),
    });
    assert.ok(
      images.some((image) => image.Labels['berth.python-packages']?.includes('python3-sklearn=')),
      JSON.stringify(images.map((image) => image.Labels)),
    );
    await target.remove(handle);

    // A code-only change reuses the Python layer.
    writeFileSync(join(code, 'note.txt'), 'changed');
    const again: string[] = [];
    const second = await target.deploy(deployment(code), (message) => again.push(message));
    assert.match(again.join('\n'), /image python layer reused/, again.join('\n'));
    await target.remove(second);
  });

  it('serves through `berth deployment create` on a named container target, with the conda file honoured', async () => {
    const workspace = join(dir.path, 'ws');
    const code = join(dir.path, 'cli-code');
    mkdirSync(code);
    copyFileSync(join(examples, 'sklearn-schema', 'score.py'), join(code, 'score.py'));
    // The same packages as the test above, from a conda file: its layer is reused.
    writeFileSync(
      join(dir.path, 'conda.yml'),
      'dependencies:\n  - python=3.11\n  - pip\n  - pip:\n      - inference-schema\n      - scikit-learn\n      - joblib\n      - numpy\n',
    );
    writeFileSync(join(dir.path, 'endpoint.yml'), 'name: pyirises\nauth_mode: key\n');
    writeFileSync(
      join(dir.path, 'blue.yml'),
      [
        'name: blue',
        'endpoint_name: pyirises',
        'model: azureml:iris:1',
        `target: ${name}`,
        'code_configuration:',
        `  code: ${code}`,
        '  scoring_script: score.py',
        'environment:',
        '  conda_file: conda.yml',
        '  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04',
        'instance_count: 1',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir.path, 'request.json'), JSON.stringify({ data: sklearn.inputs }));
    try {
      await berthOk(workspace, 'init');
      await berthOk(
        workspace,
        'model',
        'register',
        '--name',
        'iris',
        '--path',
        join(sklearn.dir, 'model.pkl'),
      );
      await berthOk(
        workspace,
        'target',
        'create',
        name,
        '--type',
        'container',
        '--docker-host',
        testDockerHost(),
        '--base-image',
        await ensureTestBaseImage(),
      );
      await berthOk(workspace, 'endpoint', 'create', '-f', join(dir.path, 'endpoint.yml'));
      await berthOk(workspace, 'deployment', 'create', '-f', join(dir.path, 'blue.yml'), '--all-traffic');
      const scored = await berthOk(
        workspace,
        'endpoint',
        'invoke',
        'pyirises',
        '--request-file',
        join(dir.path, 'request.json'),
      );
      assertClose(JSON.parse(scored), sklearn.proba);
    } finally {
      await stopServer(workspace);
    }
  });

  it('refuses a requirement no installed Debian package provides, naming it, before building', async () => {
    const code = codeFolder('numpy\nno-such-project-berth==1.0\n');
    const messages: string[] = [];
    await assert.rejects(
      target.deploy(deployment(code, { deploymentName: 'missing' }), (message) => messages.push(message)),
      (error: unknown) =>
        hasErrorCode(error, 'INVALID_SPEC') &&
        /requirements\.txt:2: no-such-project-berth: Debian package python3-no-such-project-berth is not installed/.test(
          (error as Error).message,
        ),
    );
    assert.ok(!messages.some((message) => message.startsWith('build ')), messages.join('\n'));
  });
});
