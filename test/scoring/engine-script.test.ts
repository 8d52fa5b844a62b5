import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createEngine } from '../../src/scoring/engine/index.js';
import { linearModel, options, tempDir, writeScript } from './engine-helpers.js';

const tsScript = `
import { z } from 'zod';
import type { ScriptContext } from './types.js';
import { scale } from './helpers.js';

export const inputSchema = z.object({ rows: z.array(z.array(z.number()).length(3)).min(1) });
export const outputSchema = z.object({ predictions: z.array(z.number()) });

let calls: number = 0;

export async function init(ctx: ScriptContext): Promise<void> {
  ctx.logger.info('init', { models: Object.keys(ctx.models) });
}

export async function run(input: z.infer<typeof inputSchema>, ctx: ScriptContext) {
  calls += 1;
  if (input.rows[0]?.[0] === 666) throw new Error('the devil is in the rows');
  const session = ctx.session('linear');
  const { Tensor } = await import('onnxruntime-node');
  const x = new Tensor('float32', Float32Array.from(input.rows.flat()), [input.rows.length, 3]);
  const out = await session.run({ x });
  return { predictions: Array.from(out.y!.data as Float32Array).map((value) => scale(value)) };
}
`;

const types = `export interface ScriptContext { models: Record<string, unknown>; logger: { info(m: string, f?: object): void }; session(name?: string): any }\n`;

describe('engine: entry scripts', () => {
  const dir = tempDir('engine-script');
  after(() => dir.remove());

  it('compiles a TypeScript script with relative imports, validates with zod, and publishes JSON Schema', async () => {
    const script = writeScript(dir.path, 'score.ts', tsScript, {
      'types.ts': types,
      'helpers.ts': 'export const scale = (v: number): number => v * 2;\n',
    });
    const engine = await createEngine({
      ...options([linearModel(dir.path)], { workers: 2 }),
      scoringScript: script,
    });
    try {
      const answer = await engine.runScript({ model: 'linear', body: { rows: [[1, 2, 3]] }, raw: undefined });
      assert.deepEqual(answer.body, { predictions: [9.5] });
      assert.equal(answer.status, 200);
      assert.equal(answer.contentType, 'application/json');

      await assert.rejects(
        engine.runScript({ model: 'linear', body: { rows: [[1, 2]] }, raw: undefined }),
        (error: { code: string; message: string }) => {
          assert.equal(error.code, 'BAD_INPUT');
          assert.match(error.message, /inputSchema: rows\.0:/);
          return true;
        },
      );

      const schemas = engine.scriptSchemas();
      assert.equal(schemas?.rawRequest, false);
      assert.equal((schemas?.input?.properties as Record<string, unknown>).rows !== undefined, true);
      assert.deepEqual(schemas?.output?.required, ['predictions']);
      assert.equal(engine.models()[0]?.scripted, true);

      // run() throwing: RUN_FAILED with the script's message, and the engine keeps serving.
      await assert.rejects(
        engine.runScript({ model: 'linear', body: { rows: [[666, 0, 0]] }, raw: undefined }),
        (error: { code: string; message: string }) => {
          assert.equal(error.code, 'RUN_FAILED');
          assert.match(error.message, /the devil is in the rows/);
          return true;
        },
      );
      const again = await engine.runScript({ model: 'linear', body: { rows: [[0, 0, 0]] }, raw: undefined });
      assert.deepEqual(again.body, { predictions: [0.5] });
      const [stats] = engine.statistics('linear');
      assert.equal(stats?.fail.count, 2);
      assert.equal(stats?.success.count, 2);
    } finally {
      await engine.close();
    }
  });

  it('passes the raw body in raw mode and lets run set status and content type', async () => {
    const script = writeScript(
      dir.path,
      'raw.mjs',
      `export const rawRequest = true;
       export function run(input) {
         if (input.headers['content-type'] !== 'text/plain') return { status: 415, contentType: 'text/plain', body: 'send text' };
         const text = new TextDecoder().decode(input.body);
         return { status: 201, contentType: 'application/x-upper', body: new TextEncoder().encode(input.method + ' ' + input.path + ' ' + text.toUpperCase()) };
       }`,
    );
    const engine = await createEngine({ ...options([linearModel(dir.path)]), scoringScript: script });
    try {
      // Fresh bytes per call: the engine takes ownership of (transfers) the buffer it is given.
      const raw = () => ({
        bytes: new TextEncoder().encode('hello'),
        headers: { 'content-type': 'text/plain' },
        method: 'POST',
        path: '/score',
      });
      const answer = await engine.runScript({ model: 'linear', body: undefined, raw: raw() });
      assert.equal(answer.status, 201);
      assert.equal(answer.contentType, 'application/x-upper');
      assert.equal(new TextDecoder().decode(answer.body as Uint8Array), 'POST /score HELLO');
      const refused = await engine.runScript({
        model: 'linear',
        body: undefined,
        raw: { ...raw(), headers: {} },
      });
      assert.equal(refused.status, 415);
      assert.equal(refused.body, 'send text');
      assert.equal(engine.scriptSchemas()?.rawRequest, true);
    } finally {
      await engine.close();
    }
  });

  it('rejects createEngine when init fails, with the error and the model folder listing', async () => {
    const model = linearModel(dir.path, '7');
    writeFileSync(join(model.modelDir, 'labels.txt'), 'a\nb\n');
    const script = writeScript(
      dir.path,
      'broken-init.js',
      `import { readFileSync } from 'node:fs';
       export function init(ctx) { readFileSync(ctx.modelDir + '/vocab.json'); }
       export function run() { return 1; }`,
    );
    await assert.rejects(
      createEngine({ ...options([model], { workers: 2 }), scoringScript: script }),
      (error: { code: string; message: string }) => {
        assert.equal(error.code, 'RUN_FAILED');
        assert.match(error.message, /init\(\) failed/);
        assert.match(error.message, /vocab\.json/);
        assert.match(error.message, /files in .*linear-7/);
        assert.match(error.message, /labels\.txt \(4 bytes\)/);
        assert.match(error.message, /model\.onnx/);
        return true;
      },
    );
  });

  it('refuses a script that does not export run', async () => {
    const script = writeScript(dir.path, 'no-run.ts', 'export const init = (): void => {};\n');
    await assert.rejects(
      createEngine({ ...options([linearModel(dir.path)]), scoringScript: script }),
      /does not export a run\(input, ctx\) function/,
    );
  });

  it('reports a script that does not compile', async () => {
    const script = writeScript(dir.path, 'syntax.ts', 'export function run( {\n');
    await assert.rejects(
      createEngine({ ...options([linearModel(dir.path)]), scoringScript: script }),
      (error: { code: string; message: string }) =>
        error.code === 'RUN_FAILED' && error.message.includes('cannot compile scoring script'),
    );
  });
});
