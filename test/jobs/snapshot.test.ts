import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isIgnored, parseIgnoreFile } from '../../src/jobs/ignore-rules.js';
import { listCodeFiles, snapshotCode } from '../../src/jobs/snapshot.js';
import { openArtifactStore } from '../../src/workspace/artifacts.js';
import { withTempDir } from '../helpers/cli.js';

async function put(root: string, path: string, text = path): Promise<void> {
  const file = join(root, ...path.split('/'));
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, text);
}

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    encoding: 'utf8',
  }).trim();
}

describe('ignore rules', () => {
  it('follows git: anchors, folders only, globs, negation, last match wins', () => {
    const rules = parseIgnoreFile(
      ['# comment', '', '*.log', '!keep.log', '/build', 'cache/', 'data/**/*.csv', 'a?c'].join('\n'),
      '',
    );
    const check = (path: string, folder = false): boolean => isIgnored(rules, path, folder);
    assert.equal(check('x.log'), true);
    assert.equal(check('deep/x.log'), true);
    assert.equal(check('keep.log'), false);
    assert.equal(check('build', true), true);
    assert.equal(check('src/build', true), false);
    assert.equal(check('cache', true), true);
    assert.equal(check('cache', false), false);
    assert.equal(check('data/a/b/c.csv'), true);
    assert.equal(check('data/c.csv'), true);
    assert.equal(check('abc'), true);
    assert.equal(check('abbc'), false);
    assert.equal(check('train.py'), false);
  });
});

describe('code snapshot', () => {
  it('keeps what .gitignore and .amlignore keep, content-addressed, with the git state', async () => {
    await withTempDir('snapshot', async (dir) => {
      const code = join(dir, 'code');
      await put(code, 'train.py', 'print(1)\n');
      await put(code, 'lib/util.py');
      await put(code, 'data/big.csv');
      await put(code, 'run.log');
      await put(code, '.gitignore', 'data/\n*.log\n');
      // A sub-folder's .amlignore replaces its .gitignore (Azure's rule): lib/notes.md is kept.
      await put(code, 'lib/.gitignore', 'notes.md\n');
      await put(code, 'lib/.amlignore', 'scratch.py\n');
      await put(code, 'lib/notes.md');
      await put(code, 'lib/scratch.py');
      assert.deepEqual(await listCodeFiles(code), [
        '.gitignore',
        'lib/.amlignore',
        'lib/.gitignore',
        'lib/notes.md',
        'lib/util.py',
        'train.py',
      ]);

      const artifacts = await openArtifactStore(join(dir, 'artifacts'));
      const outside = await snapshotCode(code, artifacts);
      assert.equal(outside.git, undefined);
      assert.equal(outside.artifact.kind, 'folder');
      const manifest = await artifacts.readManifest(outside.artifact);
      assert.deepEqual(
        manifest.map((entry) => entry.path),
        outside.files,
      );

      git(code, 'init', '-q');
      git(code, 'add', '-A');
      git(code, 'commit', '-qm', 'first');
      const clean = await snapshotCode(code, artifacts);
      assert.equal(clean.artifact.sha256, outside.artifact.sha256, 'the same code is the same artifact');
      assert.equal(clean.git?.commit, git(code, 'rev-parse', 'HEAD'));
      assert.equal(clean.git?.dirty, false);
      assert.equal(clean.files.includes('.git/HEAD'), false);

      await writeFile(join(code, 'train.py'), 'print(2)\n');
      const dirty = await snapshotCode(code, artifacts);
      assert.equal(dirty.git?.dirty, true);
      assert.notEqual(dirty.artifact.sha256, clean.artifact.sha256);
      const exported = await artifacts.exportTo(dirty.artifact, join(dir, 'out'));
      assert.equal(await readFile(join(exported, 'train.py'), 'utf8'), 'print(2)\n');
    });
  });
});
