import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasErrorCode } from '../core/errors.js';
import type { ErrorCode } from '../core/errors.js';
import { checkFramework, detectFramework } from './framework.js';

function rejectsWith(code: ErrorCode, pattern: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(hasErrorCode(error, code), String(error));
    assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  };
}

void describe('framework', () => {
  let dir: string;
  let single: string;
  let several: string;
  let none: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-framework-'));
    single = join(dir, 'single');
    several = join(dir, 'several');
    none = join(dir, 'none');
    await mkdir(join(single, 'weights'), { recursive: true });
    await writeFile(join(single, 'weights', 'model.onnx'), 'x');
    await writeFile(join(single, 'labels.txt'), 'cat\ndog\n');
    await mkdir(join(several, 'sub'), { recursive: true });
    await writeFile(join(several, 'a.onnx'), 'x');
    await writeFile(join(several, 'sub', 'b.onnx'), 'x');
    await mkdir(none);
    await writeFile(join(none, 'model.pkl'), 'x');
    await writeFile(join(dir, 'model.onnx'), 'x');
    await writeFile(join(dir, 'model.pt'), 'x');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('detects onnx for a .onnx file and custom for anything else', async () => {
    assert.deepEqual(await detectFramework(join(dir, 'model.onnx'), false), {
      framework: 'onnx',
      modelFile: undefined,
    });
    assert.deepEqual(await detectFramework(join(dir, 'model.pt'), false), {
      framework: 'custom',
      modelFile: undefined,
    });
  });

  void it('detects the only .onnx file in a folder, nested or not, and custom when there is none', async () => {
    assert.deepEqual(await detectFramework(single, true), {
      framework: 'onnx',
      modelFile: 'weights/model.onnx',
    });
    assert.deepEqual(await detectFramework(none, true), { framework: 'custom', modelFile: undefined });
  });

  void it('asks to name the file when a folder holds several .onnx files', async () => {
    await assert.rejects(
      detectFramework(several, true),
      rejectsWith('BAD_INPUT', /2 \.onnx files \(a\.onnx, sub\/b\.onnx\): name the one/),
    );
    await assert.rejects(checkFramework('onnx', several), rejectsWith('BAD_INPUT', /name the one to serve/));
    assert.deepEqual(await checkFramework('onnx', several, { modelFile: 'sub/b.onnx' }), {
      framework: 'onnx',
      modelFile: 'sub/b.onnx',
    });
  });

  void it('checks a named model file stays inside the folder, exists and is .onnx', async () => {
    await assert.rejects(
      checkFramework('onnx', several, { modelFile: '../model.onnx' }),
      rejectsWith('PATH_ESCAPES', /outside/),
    );
    await assert.rejects(
      checkFramework('onnx', several, { modelFile: 'c.onnx' }),
      rejectsWith('PATH_NOT_FOUND', /c\.onnx/),
    );
    await assert.rejects(
      checkFramework('onnx', none, { modelFile: 'model.pkl' }),
      rejectsWith('BAD_INPUT', /not a \.onnx/),
    );
  });

  void it('onnx needs a .onnx file', async () => {
    assert.deepEqual(await checkFramework('onnx', join(dir, 'model.onnx')), {
      framework: 'onnx',
      modelFile: undefined,
    });
    assert.deepEqual(await checkFramework('onnx', single), {
      framework: 'onnx',
      modelFile: 'weights/model.onnx',
    });
    await assert.rejects(
      checkFramework('onnx', join(dir, 'model.pt')),
      rejectsWith('INVALID_MODEL', /needs a \.onnx file/),
    );
    await assert.rejects(checkFramework('onnx', none), rejectsWith('INVALID_MODEL', /holds none/));
  });

  void it('custom accepts anything', async () => {
    for (const path of [join(dir, 'model.pt'), join(dir, 'model.onnx'), several, none]) {
      assert.deepEqual(await checkFramework('custom', path), { framework: 'custom', modelFile: undefined });
    }
  });

  void it('rejects an unknown framework on one line listing the valid ones', async () => {
    await assert.rejects(
      checkFramework('tensorflow', join(dir, 'model.pt')),
      rejectsWith('BAD_INPUT', /'tensorflow'.*onnx, custom, sklearn, pytorch, python/),
    );
    await assert.rejects(
      checkFramework('ONNX', join(dir, 'model.onnx')),
      rejectsWith('BAD_INPUT', /onnx, custom/),
    );
  });

  void it('reports a missing path as PATH_NOT_FOUND', async () => {
    await assert.rejects(
      checkFramework('onnx', join(dir, 'missing.onnx')),
      rejectsWith('PATH_NOT_FOUND', /does not exist/),
    );
  });
});
