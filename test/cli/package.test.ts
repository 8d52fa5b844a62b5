/**
 * `berth package MODEL --output DIR` through the real executable: the build context it writes holds
 * the Dockerfile, the scoring server, the model's own bytes and the scoring options that name them.
 * Building and running what it writes needs a Docker Engine: package.slow.test.ts does that.
 */
import assert from 'node:assert/strict';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, runBerth, withTempDir, type CliResult } from '../helpers/cli.js';

const linearPath = join(repoRoot, 'examples/models/linear.onnx');

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return result;
}

interface ScoringConfig {
  models: { name: string; version: number; modelFile: string }[];
  scoringScript?: string;
}

test('package --output writes a build context: Dockerfile, server, the model bytes and its options', async () => {
  await withTempDir('package-output', async (dir) => {
    const workspace = join(dir, 'ws');
    const berth = (...args: string[]) => runBerth(args, { workspace, cwd: dir });
    ok(await berth('init'));
    ok(await berth('model', 'register', '--name', 'linear', '--path', linearPath));

    const context = join(dir, 'image-context');
    const written = ok(await berth('package', 'linear:1', '--output', './image-context'));
    assert.equal(written.stdout, `build context written to ${context} (docker build ${context})\n`);
    assert.equal(written.stderr, '');
    const dockerfile = await readFile(join(context, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^FROM node:20-bookworm-slim$/m, 'the default base image');
    assert.match(dockerfile, /^COPY model\/ \/berth\/model\/$/m);
    assert.match(
      dockerfile,
      /^CMD \["node","--initial-old-space-size=64","--max-semi-space-size=64","\/berth\/server\/main\.js","--config","\/berth\/config\/scoring\.json"\]$/m,
    );
    assert.match(dockerfile, /^LABEL .*berth\.model="linear:1"/m);
    await access(join(context, 'server', 'main.js'));
    assert.ok(
      (await readFile(join(context, 'model', 'linear.onnx'))).equals(await readFile(linearPath)),
      'the registered bytes',
    );
    const config = JSON.parse(
      await readFile(join(context, 'app', 'config', 'scoring.json'), 'utf8'),
    ) as ScoringConfig;
    assert.deepEqual(
      config.models.map(({ name, version, modelFile }) => ({ name, version, modelFile })),
      [{ name: 'linear', version: 1, modelFile: '/berth/model/linear.onnx' }],
    );
    assert.equal(config.scoringScript, undefined);

    await mkdir(join(dir, 'src'));
    await writeFile(
      join(dir, 'src', 'score.mjs'),
      'export function init() {}\nexport function run(input) { return input; }\n',
    );
    const withCode = ok(
      await berth(
        'package',
        'linear',
        '--code',
        './src',
        '--scoring-script',
        'score.mjs',
        '--output',
        join(dir, 'with-code'),
        '--base-image',
        'example.org/base:1',
        '--json',
      ),
    );
    const result = JSON.parse(withCode.stdout) as { output: string; key: string; warnings: string[] };
    assert.deepEqual(result, { output: join(dir, 'with-code'), key: result.key, warnings: [] });
    assert.match(result.key, /^[0-9a-f]{64}$/);
    assert.match(
      await readFile(join(dir, 'with-code', 'Dockerfile'), 'utf8'),
      /^FROM example\.org\/base:1$/m,
    );
    await access(join(dir, 'with-code', 'app', 'code', 'score.mjs'));
    const scripted = JSON.parse(
      await readFile(join(dir, 'with-code', 'app', 'config', 'scoring.json'), 'utf8'),
    ) as ScoringConfig;
    assert.equal(scripted.scoringScript, '/berth/code/score.mjs');
    assert.notEqual(result.key, /berth\.key="([0-9a-f]+)"/.exec(dockerfile)?.[1], 'the code changes the key');
  });
});

test('package refuses what it cannot do with one line and a fitting exit code', async () => {
  await withTempDir('package-bad', async (dir) => {
    const workspace = join(dir, 'ws');
    const berth = (...args: string[]) => runBerth(args, { workspace, cwd: dir });
    ok(await berth('init'));
    ok(await berth('model', 'register', '--name', 'linear', '--path', linearPath));
    const cases: { args: string[]; code: number; message: RegExp }[] = [
      {
        args: ['package', 'linear:1'],
        code: 2,
        message: /give exactly one of --output <dir> or --image <tag>/,
      },
      {
        args: ['package', 'linear:1', '--output', 'ctx', '--image', 'linear:1'],
        code: 2,
        message: /give exactly one of --output <dir> or --image <tag>/,
      },
      {
        args: ['package', 'linear:1', '--output', 'ctx', '--code', '.'],
        code: 2,
        message: /--code and --scoring-script go together/,
      },
      { args: ['package', 'ghost:1', '--output', 'ctx'], code: 3, message: /model ghost:1 not found/ },
      {
        args: ['package', 'linear:1', '--output', 'ctx', '--code', 'missing', '--scoring-script', 's.mjs'],
        code: 2,
        message: /code_configuration\.code folder not found: .*missing/,
      },
    ];
    for (const { args, code, message } of cases) {
      const result = await berth(...args);
      assert.equal(result.code, code, `${args.join(' ')}: exit ${result.code}, ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
      assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
      assert.doesNotMatch(result.stderr, /INTERNAL/);
    }
    await assert.rejects(access(join(dir, 'ctx')), 'nothing was written');
  });
});
