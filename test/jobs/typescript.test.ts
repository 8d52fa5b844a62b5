/**
 * TypeScript job scripts: compiled into the code snapshot by esbuild (a syntax error names
 * file:line:column and stores nothing), run by a real `node` through the loader written beside the
 * code (TypeScript's import habits, a stack trace on the .ts lines, metrics through `berth-run`),
 * and typed: `berth-run`'s declarations pass `tsc --strict` for a trainer that uses them right and
 * fail one that does not.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nodeModuleFiles } from '../../src/jobs/node-module.js';
import { listCodeFiles, snapshotCode } from '../../src/jobs/snapshot.js';
import { compileTypeScript, typeScriptNodeOptions, typeScriptSources } from '../../src/jobs/typescript.js';
import { openArtifactStore } from '../../src/workspace/artifacts.js';
import { repoRoot, withTempDir } from '../helpers/cli.js';

async function put(root: string, path: string, text: string): Promise<void> {
  const file = join(root, ...path.split('/'));
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, text);
}

/** A run folder as every runner lays it out: `code/` (compiled) and `node_modules/berth-run`. */
async function runFolder(dir: string, files: Record<string, string>): Promise<string> {
  const code = join(dir, 'code');
  for (const [path, text] of Object.entries(files)) await put(code, path, text);
  await compileTypeScript(code, await listCodeFiles(code));
  for (const [path, text] of Object.entries(nodeModuleFiles))
    await put(join(dir, 'node_modules', 'berth-run'), path, text);
  return code;
}

function node(dir: string, cwd: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, args, {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env, NODE_OPTIONS: typeScriptNodeOptions(dir, env.NODE_OPTIONS) },
  });
}

describe('TypeScript jobs', () => {
  it('compiles the TypeScript of the code folder into the snapshot, and only that', async () => {
    await withTempDir('jobs-ts', async (dir) => {
      const code = join(dir, 'src');
      await put(code, 'train.ts', 'const epochs: number = 3;\nexport default epochs;\n');
      await put(code, 'lib/util.mts', 'export const twice = (x: number): number => 2 * x;\n');
      await put(code, 'types.d.ts', 'declare const x: number;\n');
      await put(code, 'node_modules/dep/index.ts', 'export const broken: = ;\n');
      await put(code, '.berth-js/stale.js', 'left from a copied run\n');
      await put(code, 'notes.md', 'not code\n');
      assert.deepEqual(typeScriptSources(await listCodeFiles(code)), ['lib/util.mts', 'train.ts']);

      const artifacts = await openArtifactStore(join(dir, 'artifacts'));
      const snapshot = await snapshotCode(code, artifacts);
      assert.deepEqual(snapshot.compiled, ['.berth-js/lib/util.js', '.berth-js/train.js']);
      assert.equal(snapshot.files.includes('.berth-js/stale.js'), false, 'a copied .berth-js is not kept');
      const stored = (await artifacts.readManifest(snapshot.artifact)).map((entry) => entry.path);
      assert.deepEqual(
        stored.filter((path) => path.startsWith('.berth-js/')),
        snapshot.compiled,
      );
      const out = await artifacts.exportTo(snapshot.artifact, join(dir, 'out'));
      const train = await readFile(join(out, '.berth-js', 'train.js'), 'utf8');
      assert.match(train, /^const epochs = 3;/, 'types stripped');
      assert.match(train, /sourceMappingURL=data:application\/json;base64,/);
      assert.equal(
        (await snapshotCode(code, artifacts)).artifact.sha256,
        snapshot.artifact.sha256,
        'the same code compiles to the same snapshot',
      );
    });
  });

  it("reads the code folder's tsconfig.json for what changes the JavaScript", async () => {
    await withTempDir('jobs-ts', async (dir) => {
      const body = "import { helper } from './helper.js';\nexport const n: number = 1;\n";
      for (const [folder, verbatim] of [
        ['plain', false],
        ['verbatim', true],
      ] as const) {
        const code = join(dir, folder);
        await put(code, 'main.ts', body);
        await put(code, 'helper.ts', 'export type helper = number;\n');
        await put(
          code,
          'tsconfig.json',
          `{ // comments are fine\n "compilerOptions": { "verbatimModuleSyntax": ${verbatim} } }\n`,
        );
        await compileTypeScript(code, await listCodeFiles(code));
        const main = await readFile(join(code, '.berth-js', 'main.js'), 'utf8');
        assert.equal(main.includes('./helper.js'), verbatim, `${folder}: ${main}`);
      }
      const broken = join(dir, 'broken');
      await put(broken, 'a.ts', 'export const a: number = 1;\n');
      await put(broken, 'lib/b.ts', 'export const b: number = 2;\n');
      await put(broken, 'tsconfig.json', '{ compilerOptions: }\n');
      await assert.rejects(compileTypeScript(broken, await listCodeFiles(broken)), (error: Error) => {
        // Named once, at the tsconfig, though both files read it.
        const lines = error.message.split('\n').filter((line) => line.includes('tsconfig.json:'));
        assert.equal(lines.length, 1, error.message);
        assert.match(lines[0] ?? '', new RegExp(`^${join(broken, 'tsconfig.json')}:1:3: `));
        return true;
      });
    });
  });

  it('refuses a syntax error with file:line:column, every file at once; a type error is none', async () => {
    await withTempDir('jobs-ts', async (dir) => {
      const code = join(dir, 'src');
      await put(code, 'train.ts', 'const ok: number = 1;\nfunction f(a: number) {\n  return a +;\n}\n');
      await put(
        code,
        'lib/model.ts',
        'export interface Model {\n  weights: number[];\n}\nexport const zero: Model = { weights: [0 };\n',
      );
      await put(code, 'typed-wrong.ts', 'const wrong: string = 5;\nexport default wrong;\n');
      const artifacts = await openArtifactStore(join(dir, 'artifacts'));
      await assert.rejects(snapshotCode(code, artifacts), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'INVALID_SPEC');
        assert.match(error.message, /types are not checked/);
        assert.match(
          error.message,
          new RegExp(`${join(code, 'train.ts')}:3:13: Unexpected ";"\\n {4}return a \\+;`),
        );
        assert.match(
          error.message,
          new RegExp(`${join(code, 'lib', 'model.ts')}:4:42: Expected "]" but found "}"`),
        );
        assert.doesNotMatch(error.message, /typed-wrong/, 'a type error is no syntax error');
        return true;
      });
    });
  });

  it('runs node train.ts through the loader: TypeScript imports, berth-run, .ts lines in stack traces', async () => {
    await withTempDir('jobs-ts', async (dir) => {
      const train = [
        "import { run, type JobRun } from 'berth-run';",
        "import { twice } from './util.js';",
        "import { square } from './shapes';",
        "import { name } from './lib';",
        "import { cube } from './power.mjs';",
        'interface Step { index: number; loss: number }',
        'const steps: Step[] = [1, 2].map((index) => ({ index, loss: 1 / index }));',
        'const history: JobRun = run;',
        'for (const step of steps) history.log("loss", step.loss, step.index);',
        'console.log(name, twice(2), square(3), cube(2));',
        'if (process.env.FAIL === "1") throw new Error("failed on purpose");',
      ].join('\n');
      const code = await runFolder(dir, {
        'train.ts': train,
        'util.ts': 'export const twice = (x: number): number => 2 * x;\n',
        'shapes.ts': 'export function square(x: number): number {\n  return x * x;\n}\n',
        'lib/index.ts': "export const name: string = 'lib';\n",
        'power.mts': 'export const cube = (x: number): number => x ** 3;\n',
        'plain.mjs': "import { twice } from './util.ts';\nconsole.log('from js', twice(5));\n",
      });
      const metrics = join(dir, 'metrics.jsonl');
      const ran = node(dir, code, ['train.ts'], { BERTH_RUN_METRICS: metrics });
      assert.equal(ran.status, 0, ran.stderr);
      assert.equal(ran.stdout, 'lib 4 9 8\n');
      const logged = (await readFile(metrics, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { key: string; value: number; step: number });
      assert.deepEqual(
        logged.map(({ key, value, step }) => [key, value, step]),
        [
          ['loss', 1, 1],
          ['loss', 0.5, 2],
        ],
      );

      const failed = node(dir, code, ['train.ts'], { FAIL: '1' });
      assert.equal(failed.status, 1);
      assert.match(
        failed.stderr,
        new RegExp(`Error: failed on purpose\\n +at .*${join(code, 'train.ts')}:11:`),
      );

      // A JavaScript module may import the TypeScript too; the job's own NODE_OPTIONS are kept.
      const js = node(dir, code, ['plain.mjs'], { NODE_OPTIONS: '--max-old-space-size=256' });
      assert.equal(js.status, 0, js.stderr);
      assert.equal(js.stdout, 'from js 10\n');
      assert.match(
        typeScriptNodeOptions('/run dir', '--max-old-space-size=256'),
        /^--max-old-space-size=256 --import=file:\/\/\/run%20dir\//,
      );

      await put(dir, 'elsewhere/outside.ts', 'console.log(1 as number);\n');
      const outside = node(dir, code, [join(dir, 'elsewhere', 'outside.ts')]);
      assert.notEqual(outside.status, 0);
      assert.match(
        outside.stderr,
        /berth: cannot run .*outside\.ts: only the TypeScript of the job's code folder/,
      );
      await put(code, 'late.ts', 'console.log(1);\n');
      const late = node(dir, code, ['late.ts']);
      assert.match(late.stderr, /berth: cannot run .*late\.ts: it has no compiled JavaScript/);
    });
  });

  it("berth-run's types hold a trainer to the SDK under tsc --strict", async () => {
    await withTempDir('jobs-ts', async (dir) => {
      const code = await runFolder(dir, {
        'train.ts': [
          "import { run, type JobRun } from 'berth-run';",
          'const history: JobRun = run;',
          "history.log('loss', 0.31, 1);",
          "history.logMetric('accuracy', 0.9);",
          "history.logTable('weights', [{ parameter: 'x0', value: 0.5 }]);",
          'const id: string | undefined = history.id;',
          'console.log(id);',
        ].join('\n'),
        'wrong.ts': [
          "import run from 'berth-run';",
          "run.log('loss', '0.31');",
          "run.logTable('weights', 3);",
          "run.fit('x');",
        ].join('\n'),
      });
      await writeFile(
        join(code, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            target: 'ES2022',
            types: ['node'],
            typeRoots: [join(repoRoot, 'node_modules', '@types')],
          },
          include: ['*.ts'],
        }),
      );
      const tsc = spawnSync(
        process.execPath,
        [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', code],
        {
          cwd: code,
          encoding: 'utf8',
          timeout: 120_000,
        },
      );
      const errors = tsc.stdout.split('\n').filter((line) => / error TS\d+/.test(line));
      assert.deepEqual(
        errors.map((line) => /^(\S+?)\((\d+),\d+\): error (TS\d+)/.exec(line)?.slice(1)),
        [
          ['wrong.ts', '2', 'TS2345'],
          ['wrong.ts', '3', 'TS2345'],
          ['wrong.ts', '4', 'TS2339'],
        ],
        tsc.stdout,
      );
    });
  });
});
