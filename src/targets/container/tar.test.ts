import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { tarStream } from './tar.js';

describe('tarStream', () => {
  it('writes files, folders and links (long names and long targets included) that tar extracts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-tar-'));
    try {
      writeFileSync(join(dir, 'source.txt'), 'hello');
      const deep = `${'d'.repeat(60)}/${'e'.repeat(60)}`;
      const longTarget = `/${'t'.repeat(120)}/lib.so.3`;
      const archive = await buffer(
        tarStream([
          { path: 'usr/lib', kind: 'dir' },
          { path: 'usr/lib/file.txt', kind: 'file', source: join(dir, 'source.txt') },
          { path: `${deep}/data.txt`, kind: 'data', data: 'data' },
          { path: 'usr/lib/link.txt', kind: 'link', target: 'file.txt' },
          { path: `${deep}/long-link`, kind: 'link', target: longTarget },
        ]),
      );
      const out = join(dir, 'out');
      execFileSync('mkdir', ['-p', out]);
      execFileSync('tar', ['-x', '-C', out], { input: archive });
      assert.equal(readFileSync(join(out, 'usr/lib/link.txt'), 'utf8'), 'hello');
      assert.equal(readlinkSync(join(out, 'usr/lib/link.txt')), 'file.txt');
      assert.equal(readFileSync(join(out, deep, 'data.txt'), 'utf8'), 'data');
      assert.equal(readlinkSync(join(out, deep, 'long-link')), longTarget);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
