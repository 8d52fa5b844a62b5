import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

// dist/test/layers/ → the repository root.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { checkLayers } = (await import(pathToFileURL(join(root, 'scripts', 'check-layers.mjs')).href)) as {
  checkLayers: (srcDir: string) => string[];
};

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-layers-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('the layer rule', () => {
  const made: string[] = [];
  after(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('holds for the source tree', () => {
    assert.deepEqual(checkLayers(join(root, 'src')), []);
  });

  it('names an import against the layers, type-only and re-exports included', () => {
    const dir = tree({
      'core/a.ts': "import type { B } from '../scoring/b.js';\nexport type A = B;\n",
      'scoring/b.ts': "export type B = 1;\nexport { c } from '../server/c.js';\n",
      'server/c.ts': 'export const c = 1;\n',
    });
    made.push(dir);
    assert.deepEqual(checkLayers(dir), [
      'src/core/a.ts: src/core must not import src/scoring (scoring/b.ts)',
      'src/scoring/b.ts: src/scoring must not import src/server (server/c.ts)',
    ]);
  });

  it('finds a cycle between files, and ignores imports in comments', () => {
    const dir = tree({
      'scoring/pool.ts': "import { probe } from './probe.js';\nexport const pool = probe;\n",
      'scoring/probe.ts':
        "import type { pool } from './pool.js';\nexport const probe = 1 as unknown as typeof pool;\n",
      'scoring/quiet.ts':
        "// import { pool } from './pool.js';\n/* import x from '../server/x.js' */\nexport {};\n",
    });
    made.push(dir);
    const problems = checkLayers(dir);
    assert.equal(problems.length, 1);
    assert.match(
      problems[0] ?? '',
      /^import cycle: .*scoring\/(pool|probe)\.ts -> .*scoring\/(pool|probe)\.ts$/,
    );
  });

  it('asks a new folder to be given its place', () => {
    const dir = tree({ 'plugins/x.ts': 'export {};\n' });
    made.push(dir);
    assert.deepEqual(checkLayers(dir), [
      'src/plugins/x.ts: folder "plugins" has no place in the layers (scripts/check-layers.mjs)',
    ]);
  });
});
