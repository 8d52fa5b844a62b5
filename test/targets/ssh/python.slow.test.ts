/**
 * Python scoring scripts on the ssh target, against the test's own sshd (the remote user and
 * namespace of ../../helpers/sshd.ts): a scikit-learn pickle and the sklearn example's score.py are
 * deployed and answer as Python predicts in-process; what the machine's Python lacks (a project in
 * requirements.txt, a module the script imports, the interpreter itself) is reported in one message
 * before anything ships; and `berth batch run --target <ssh target>` runs a Python batch driver on
 * the machine, writing the rows the embedded engine writes here.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasErrorCode } from '../../../src/core/errors.js';
import { REPLICA_TOKEN_HEADER } from '../../../src/scoring/auth.js';
import type { ResolvedDeployment } from '../../../src/targets/target.js';
import { runBerth } from '../../helpers/cli.js';
import { send } from '../../helpers/http.js';
import { sshdMissing, sshTargetArgs } from '../../helpers/sshd.js';
import {
  assertClose,
  examples,
  fixtures,
  pythonMissing,
  trainSklearn,
  type SklearnFixture,
} from '../../python/helpers.js';
import { deploymentSpec, tempDir } from '../helpers.js';
import { sshFixture, type SshFixture } from './fixture.js';

describe(
  'Python scoring scripts on the ssh target',
  { skip: sshdMissing() ?? pythonMissing, concurrency: 1 },
  () => {
    let fixture: SshFixture;
    let dir: ReturnType<typeof tempDir>;
    let sklearn: SklearnFixture;

    const codeFolder = (requirements: string, extra = ''): string => {
      const code = join(dir.path, `code-${Math.random().toString(36).slice(2, 8)}`);
      mkdirSync(code);
      copyFileSync(join(examples, 'sklearn-schema', 'score.py'), join(code, 'score.py'));
      if (extra !== '') writeFileSync(join(code, 'helper.py'), extra);
      writeFileSync(join(code, 'requirements.txt'), requirements);
      return code;
    };
    const deployment = (code: string, name: string): ResolvedDeployment =>
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
        { target: 'pybox', deploymentName: name, codeDir: code, scoringScript: join(code, 'score.py') },
      );

    before(async () => {
      dir = tempDir('ssh-python');
      sklearn = await trainSklearn(join(dir.path, 'sklearn'));
      fixture = await sshFixture('pybox');
    });
    after(async () => {
      await fixture?.cleanup();
      dir?.remove();
    });

    it('serves a scikit-learn pickle through score.py on the machine, as Python predicts it', async () => {
      const code = codeFolder('scikit-learn\njoblib\nnumpy\ninference-schema\n');
      const messages: string[] = [];
      const handle = await fixture.target.deploy(deployment(code, 'py'), (message) => messages.push(message));
      assert.match(messages.join('\n'), /Python worker shipped to/, messages.join('\n'));
      const [replica] = fixture.target.currentReplicas(handle);
      assert.ok(replica?.url !== undefined);
      const token = (replica as { token?: string }).token;
      const answer = await send(`${replica.url}/score`, {
        headers: token === undefined ? {} : { [REPLICA_TOKEN_HEADER]: token },
        body: { data: sklearn.inputs },
      });
      assert.equal(answer.status, 200, answer.body);
      assertClose(JSON.parse(answer.body), sklearn.proba);
      await fixture.target.remove(handle);
      assert.deepEqual(fixture.leftovers(), []);
    });

    it("says what the machine's Python lacks, in one message, before anything ships", async () => {
      const code = codeFolder('numpy\nno-such-project-berth\n', 'import no_such_module_berth\n');
      await assert.rejects(
        fixture.target.deploy(deployment(code, 'lacking'), () => undefined),
        (error: Error) => {
          assert.ok(hasErrorCode(error, 'RUN_FAILED'), String(error));
          assert.match(error.message, /lacks no-such-project-berth \(from the requirements\)/);
          assert.match(error.message, /cannot import no_such_module_berth \(imported by the scoring code\)/);
          assert.doesNotMatch(error.message, /numpy/);
          return true;
        },
      );
      const broken = await sshFixture('pybox-nopython', { pythonPath: '/opt/no-such-python/bin/python3' });
      try {
        await assert.rejects(
          broken.target.deploy(deployment(codeFolder('numpy\n'), 'nopython'), () => undefined),
          /no Python for the scoring script at "\/opt\/no-such-python\/bin\/python3" \(not found\)/,
        );
        assert.equal(existsSync(join(broken.workdir, 'cache')), false, 'nothing shipped');
      } finally {
        await broken.cleanup();
      }
      const cache = join(fixture.workdir, 'cache');
      assert.deepEqual(existsSync(cache) ? readdirSync(cache) : [], [], 'nothing shipped');
    });

    it('runs a Python batch driver on the machine: the same rows as the embedded engine here', async () => {
      const workspace = join(dir.path, 'ws');
      const berth = async (...args: string[]): Promise<string> => {
        const result = await runBerth(args, { workspace });
        assert.equal(result.code, 0, `berth ${args.join(' ')}: exit ${result.code}: ${result.stderr}`);
        return result.stdout;
      };
      const { sshd } = fixture;
      const table = join(dir.path, 'table');
      mkdirSync(table);
      writeFileSync(
        join(table, 'rows.csv'),
        ['id,f1,f2,f3,f4', ...sklearn.inputs.map((row, i) => `r${i},${row.join(',')}`)].join('\n') + '\n',
      );
      writeFileSync(
        join(dir.path, 'tabular.yml'),
        [
          'name: iris-tabular',
          'model:',
          '  path: sklearn/model.pkl',
          '  name: iris',
          'code_configuration:',
          `  code: ${join(fixtures, 'batch')}`,
          '  scoring_script: tabular.py',
          'compute: embedded',
          'resources:',
          '  instance_count: 1',
          'max_concurrency_per_instance: 2',
          'mini_batch_size: 2',
          'output_action: append_row',
          'output_file_name: predictions.csv',
          'retry_settings:',
          '  max_retries: 1',
          '  timeout: 120',
          'error_threshold: 0',
          '',
        ].join('\n'),
      );
      await berth('init');
      await berth(...sshTargetArgs(sshd, 'pybatch', join(sshd.dir, 'batch-remote')));
      const run = async (
        output: string,
        target: string,
      ): Promise<{ engine: string; output: { predictions: string } }> => {
        const stdout = await berth(
          'batch',
          'run',
          '-f',
          join(dir.path, 'tabular.yml'),
          '--input',
          table,
          '--output',
          join(dir.path, output),
          '--target',
          target,
          '--json',
        );
        const status = JSON.parse(stdout) as {
          state: string;
          engine: string;
          output: { predictions: string };
        };
        assert.equal(status.state, 'completed', stdout);
        return status;
      };
      const here = await run('out-local', 'local');
      const there = await run('out-ssh', 'pybatch');
      assert.equal(there.engine, 'ssh');
      const rows = await readFile(there.output.predictions, 'utf8');
      const [header, ...lines] = rows.trimEnd().split('\n');
      assert.equal(header, 'key,id,label');
      assert.deepEqual(
        lines.map((line) => Number(line.split(',')[2])),
        sklearn.predict,
        'the labels Python predicts in-process',
      );
      assert.equal(rows, await readFile(here.output.predictions, 'utf8'));
      const batchDir = join(sshd.dir, 'batch-remote', 'batch');
      assert.deepEqual(existsSync(batchDir) ? readdirSync(batchDir) : [], [], 'the job folder is gone');
    });
  },
);
