/**
 * Spec files written to hurt: too large, an alias bomb, duplicate keys, thousands of unknown
 * fields. Each is the user's INVALID_SPEC (exit 2) naming the file and the line, never INTERNAL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { errorCatalogue, hasErrorCode } from '../../src/core/errors.js';
import { readSpecFile } from '../../src/core/spec-file.js';
import { readDeploymentYaml } from '../../src/core/specs/index.js';
import { maxSpecBytes } from '../../src/core/yaml.js';
import { aliasBomb } from '../fixtures/alias-bomb.js';

function refused(run: () => unknown, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(hasErrorCode(error, 'INVALID_SPEC'), String(error));
    assert.match(error.message, message);
    return true;
  });
}

describe('hostile spec files', () => {
  it('refuses an alias bomb as the file’s error, at the line of its first alias (exit 2)', () => {
    refused(() => readDeploymentYaml(aliasBomb, 'bomb.yml'), /^bomb\.yml:4: invalid YAML: .*alias/);
    assert.equal(errorCatalogue.INVALID_SPEC.exit, 2);
  });

  it('refuses a key given twice in one mapping, at its second line', () => {
    refused(
      () => readDeploymentYaml('name: blue\nendpoint_name: ocr\nname: green\n', 'twice.yml'),
      /^twice\.yml:3: invalid YAML: the key "name" appears twice/,
    );
    refused(
      () =>
        readDeploymentYaml('name: blue\nendpoint_name: ocr\nenvironment_variables: {A: 1, A: 2}\n', 't.yml'),
      /^t\.yml:3: .*"A" appears twice/,
    );
  });

  it('refuses spec text over the limit before parsing it, naming the size and the limit', () => {
    const text = `name: blue\nendpoint_name: ocr\n# ${'x'.repeat(maxSpecBytes)}\n`;
    refused(
      () => readDeploymentYaml(text, 'big.yml'),
      new RegExp(
        `^big\\.yml: the spec is ${Buffer.byteLength(text)} bytes, over the limit of ${maxSpecBytes} bytes`,
      ),
    );
  });

  it('refuses a 50 MB spec file by its size, without reading it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-yaml-'));
    const file = join(dir, 'huge.yml');
    writeFileSync(file, '');
    truncateSync(file, 50 * 1024 * 1024);
    await assert.rejects(readSpecFile(file, 'huge.yml'), (error: unknown) => {
      assert.ok(hasErrorCode(error, 'INVALID_SPEC'), String(error));
      assert.match(error.message, /^huge\.yml: the spec is 52428800 bytes, over the limit of 1048576 bytes/);
      return true;
    });
    await assert.rejects(readSpecFile(dir), (error: unknown) => hasErrorCode(error, 'PATH_UNREADABLE'));
    await assert.rejects(readSpecFile(join(dir, 'nope.yml')), (error: unknown) =>
      hasErrorCode(error, 'PATH_NOT_FOUND'),
    );
  });

  it('gives each of thousands of unknown fields its own line, and keeps every known one', () => {
    const lines = ['name: blue', 'endpoint_name: ocr', 'model: azureml:m:1'];
    for (let i = 0; i < 5000; i += 1) lines.push(`field_${i}: ${i}`);
    lines.push('instance_count: 3');
    const read = readDeploymentYaml(`${lines.join('\n')}\n`, 'many.yml');
    assert.equal(read.fileWarnings.length, 5000);
    assert.deepEqual(
      read.fileWarnings.slice(0, 2).map((warning) => [warning.line, warning.path]),
      [
        [4, 'field_0'],
        [5, 'field_1'],
      ],
    );
    assert.equal(read.fileWarnings[4999]!.line, 5003);
    assert.equal(read.spec.instance_count, 3);
    assert.equal(read.lineOf(['instance_count']), 5004);
  });
});
