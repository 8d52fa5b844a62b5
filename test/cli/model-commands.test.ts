import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ocrClassifierPath, repoRoot, runBerth, withTempDir } from '../helpers/cli.js';

const linearPath = join(repoRoot, 'examples/models/linear.onnx');

test('init, register, list, show, download and delete through the real executable', async () => {
  await withTempDir('cli', async (dir) => {
    const workspace = join(dir, 'ws');
    const init = await runBerth(['init'], { workspace });
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /workspace ready at/);
    assert.equal((await runBerth(['init'], { workspace })).code, 0, 'init is idempotent');

    const registered = await runBerth(
      [
        'model',
        'register',
        '--name',
        'ocr-cls',
        '--path',
        ocrClassifierPath,
        '--tag',
        'team=vision',
        '--description',
        'PP-OCR text direction',
        '--json',
      ],
      { workspace },
    );
    assert.equal(registered.code, 0, registered.stderr);
    const model = JSON.parse(registered.stdout);
    assert.equal(model.name, 'ocr-cls');
    assert.equal(model.version, 1);
    assert.equal(model.framework, 'onnx');
    assert.deepEqual(model.tags, { team: 'vision' });
    const bytes = await readFile(ocrClassifierPath);
    assert.equal(model.artifact.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(model.artifact.size, bytes.length);
    assert.equal(model.signature.inputs[0].name, 'x');
    assert.equal(model.signature.inputs[0].datatype, 'FP32');
    assert.equal(typeof model.signature.inputs[0].shape[0], 'string', 'dynamic batch dim is named');

    const second = await runBerth(['model', 'register', '-n', 'ocr-cls', '-p', ocrClassifierPath, '--json'], {
      workspace,
    });
    assert.equal(JSON.parse(second.stdout).version, 2);

    const list = await runBerth(['model', 'list', '--json'], { workspace });
    assert.deepEqual(
      JSON.parse(list.stdout).map((m: { name: string; version: number }) => `${m.name}:${m.version}`),
      ['ocr-cls:1', 'ocr-cls:2'],
    );
    const table = await runBerth(['model', 'list'], { workspace });
    assert.match(table.stdout, /^NAME\s+VERSION\s+FRAMEWORK/);
    assert.match(table.stdout, /ocr-cls\s+1\s+onnx/);

    const show = await runBerth(['model', 'show', 'ocr-cls:1'], { workspace });
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /ocr-cls:1 {2}\(onnx\)/);
    assert.match(show.stdout, /x {2}FP32 {2}\[p2o\.DynamicDimension\.0, 3, /);
    assert.match(show.stdout, /sha256: +[0-9a-f]{64}/);
    const latest = JSON.parse((await runBerth(['model', 'show', 'ocr-cls', '--json'], { workspace })).stdout);
    assert.equal(latest.version, 2);

    const out = join(dir, 'out');
    const download = await runBerth(['model', 'download', 'ocr-cls:1', out, '--json'], { workspace });
    assert.equal(download.code, 0, download.stderr);
    const downloaded = await readFile(JSON.parse(download.stdout).path);
    assert.ok(downloaded.equals(bytes), 'downloaded bytes equal the registered file');

    const deleted = await runBerth(['model', 'delete', 'ocr-cls:1'], { workspace });
    assert.equal(deleted.code, 0, deleted.stderr);
    const gone = await runBerth(['model', 'show', 'ocr-cls:1'], { workspace });
    assert.equal(gone.code, 3);
    assert.match(gone.stderr, /^berth: error: model ocr-cls:1 not found/);
    assert.equal(
      JSON.parse((await runBerth(['model', 'show', 'ocr-cls:2', '--json'], { workspace })).stdout).version,
      2,
      'the other version, sharing the same bytes, still resolves',
    );
    const stillThere = await runBerth(['model', 'download', 'ocr-cls:2', join(dir, 'out2')], { workspace });
    assert.equal(stillThere.code, 0, stillThere.stderr);
  });
});

test('a folder model keeps its tree and names the served ONNX file', async () => {
  await withTempDir('cli-folder', async (dir) => {
    const workspace = join(dir, 'ws');
    const folder = join(dir, 'bundle');
    await mkdir(join(folder, 'assets'), { recursive: true });
    await writeFile(join(folder, 'model.onnx'), await readFile(linearPath));
    await writeFile(join(folder, 'assets', 'labels.txt'), 'a\nb\n');
    assert.equal((await runBerth(['init'], { workspace })).code, 0);
    const registered = await runBerth(['model', 'register', '-n', 'bundle', '-p', folder, '--json'], {
      workspace,
    });
    assert.equal(registered.code, 0, registered.stderr);
    const model = JSON.parse(registered.stdout);
    assert.equal(model.artifact.kind, 'folder');
    assert.equal(model.modelFile, 'model.onnx');
    assert.equal(model.signature.inputs[0].name, 'x');
    const out = join(dir, 'out');
    assert.equal((await runBerth(['model', 'download', 'bundle:1', out], { workspace })).code, 0);
    assert.equal(await readFile(join(out, 'bundle', 'assets', 'labels.txt'), 'utf8'), 'a\nb\n');
    const aFile = join(dir, 'a-file.txt');
    await writeFile(aFile, 'not a folder');
    for (const destination of [aFile, join(aFile, 'below')]) {
      const intoFile = await runBerth(['model', 'download', 'bundle:1', destination], { workspace });
      assert.equal(intoFile.code, 2, intoFile.stderr);
      assert.match(intoFile.stderr, /cannot write into .*a-file\.txt.*is a file, not a folder/);
    }
  });
});

test('bad input gets a one-line error and a fitting exit code', async () => {
  await withTempDir('cli-bad', async (dir) => {
    const workspace = join(dir, 'ws');
    const missingWorkspace = await runBerth(['model', 'list'], { workspace });
    assert.equal(missingWorkspace.code, 3);
    assert.match(missingWorkspace.stderr, /run `berth init`/);

    assert.equal((await runBerth(['init'], { workspace })).code, 0);
    const notModel = join(dir, 'notes.onnx');
    await writeFile(notModel, 'this is not a model');
    const outside = join(dir, 'secret.txt');
    await writeFile(outside, 'secret');
    const escaping = join(dir, 'escaping');
    await mkdir(escaping);
    await writeFile(join(escaping, 'model.onnx'), await readFile(linearPath));
    await symlink(outside, join(escaping, 'link.txt'));
    const backslashed = join(dir, 'backslashed');
    await mkdir(backslashed);
    await writeFile(join(backslashed, 'model.onnx'), await readFile(linearPath));
    await writeFile(join(backslashed, '..\\..\\x'), 'x');
    const textFile = join(dir, 'weights.bin');
    await writeFile(textFile, 'weights');

    const cases: { args: string[]; code: number; message: RegExp }[] = [
      {
        args: ['model', 'register', '-n', 'bad name!', '-p', linearPath],
        code: 2,
        message: /invalid model name "bad name!"/,
      },
      {
        args: ['model', 'register', '-n', 'x'.repeat(64), '-p', linearPath],
        code: 2,
        message: /invalid model name/,
      },
      {
        args: ['model', 'register', '-n', 'm', '-p', join(dir, 'missing.onnx')],
        code: 2,
        message: /no such file or folder: .*missing\.onnx/,
      },
      { args: ['model', 'register', '-n', 'm', '-p', notModel], code: 2, message: /not a valid ONNX model/ },
      {
        args: ['model', 'register', '-n', 'm', '-p', linearPath, '-f', 'tensorflow'],
        code: 2,
        message: /unknown framework 'tensorflow': use one of onnx, custom/,
      },
      {
        args: ['model', 'register', '-n', 'm', '-p', textFile, '-f', 'onnx'],
        code: 2,
        message: /framework onnx needs a \.onnx file/,
      },
      { args: ['model', 'register', '-n', 'm', '-p', escaping], code: 2, message: /link\.txt/ },
      {
        args: ['model', 'register', '-n', 'm', '-p', backslashed],
        code: 2,
        message: /holds a file named "\.\.\\\\\.\.\\\\x"/,
      },
      {
        args: ['model', 'register', '-n', 'm', '-p', linearPath, '-t', 'novalue'],
        code: 2,
        message: /invalid --tag "novalue"/,
      },
      { args: ['model', 'show', 'ghost'], code: 3, message: /model ghost not found/ },
      { args: ['model', 'show', 'ghost:x'], code: 2, message: /invalid model version "x"/ },
      { args: ['model', 'delete', 'ghost'], code: 2, message: /name the version to delete/ },
      { args: ['model', 'frobnicate'], code: 2, message: /unknown command/ },
    ];
    for (const { args, code, message } of cases) {
      const result = await runBerth(args, { workspace });
      assert.equal(result.code, code, `${args.join(' ')}: exit ${result.code}, stderr ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
      if (result.stderr.startsWith('berth: error:')) {
        assert.equal(
          result.stderr.trim().split('\n').length,
          1,
          `one line for ${args.join(' ')}: ${result.stderr}`,
        );
      }
    }
    if (process.getuid?.() !== 0) {
      // root reads files whatever their mode, so this case only means something for other users.
      const unreadable = join(dir, 'locked.onnx');
      await writeFile(unreadable, await readFile(linearPath));
      await chmod(unreadable, 0o000);
      const result = await runBerth(['model', 'register', '-n', 'm', '-p', unreadable], { workspace });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /cannot read/);
    }
    const list = await runBerth(['model', 'list', '--json'], { workspace });
    assert.deepEqual(JSON.parse(list.stdout), [], 'nothing was registered by the failed attempts');
  });
});

test('--help documents every command', async () => {
  await withTempDir('cli-help', async (dir) => {
    const workspace = join(dir, 'ws');
    const help = await runBerth(['--help'], { workspace });
    assert.equal(help.code, 0);
    for (const command of ['init', 'model', 'serve'])
      assert.match(help.stdout, new RegExp(`\\n  ${command}\\b`));
    const modelHelp = await runBerth(['model', '--help'], { workspace });
    for (const command of ['register', 'list', 'show', 'download', 'delete']) {
      assert.match(modelHelp.stdout, new RegExp(`\\n  ${command}\\b`));
    }
    const registerHelp = await runBerth(['model', 'register', '--help'], { workspace });
    for (const option of [
      '--name',
      '--path',
      '--framework',
      '--model-file',
      '--description',
      '--tag',
      '--json',
    ]) {
      assert.ok(registerHelp.stdout.includes(option), option);
    }
  });
});
