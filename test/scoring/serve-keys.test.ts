/** `berth serve`'s key sources: --key, --key-file and the environment, one at a time. */
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import { PRIMARY_KEY_ENV, SECONDARY_KEY_ENV, serveKeys } from '../../src/cli/commands/serve-keys.js';
import { tempDir } from './engine-helpers.js';

describe('berth serve keys', () => {
  const dir = tempDir('serve-keys');
  after(() => dir.remove());

  const keyFile = (name: string, text: string, mode = 0o600): string => {
    const path = join(dir.path, name);
    writeFileSync(path, text);
    chmodSync(path, mode);
    return path;
  };

  it('takes one or two keys from --key', () => {
    assert.deepEqual(serveKeys({ key: ['primary-1'] }, {}).keys, {
      primaryKey: 'primary-1',
      secondaryKey: undefined,
    });
    assert.deepEqual(serveKeys({ key: ['primary-1', 'second-2'] }, {}).keys, {
      primaryKey: 'primary-1',
      secondaryKey: 'second-2',
    });
    assert.throws(() => serveKeys({ key: ['a', 'b', 'c'] }, {}), /at most two keys/);
  });

  it('reads a key file of one or two lines, and warns when others can read it', () => {
    const one = serveKeys({ key: [], keyFile: keyFile('one', 'primary-from-file\n') }, {});
    assert.deepEqual(one.keys, { primaryKey: 'primary-from-file', secondaryKey: undefined });
    assert.equal(one.warning, undefined);
    const two = serveKeys(
      { key: [], keyFile: keyFile('two', '  primary-a \r\n\nsecondary-b\n\n', 0o644) },
      {},
    );
    assert.deepEqual(two.keys, { primaryKey: 'primary-a', secondaryKey: 'secondary-b' });
    assert.match(two.warning ?? '', /can be read by other users \(mode 644\): chmod 600 it/);
    for (const text of ['', '\n\n', 'a\nb\nc\n']) {
      assert.throws(
        () => serveKeys({ key: [], keyFile: keyFile('bad', text) }, {}),
        (error: Error) => hasErrorCode(error, 'BAD_INPUT') && /must hold one or two keys/.test(error.message),
      );
    }
    assert.throws(
      () => serveKeys({ key: [], keyFile: join(dir.path, 'missing') }, {}),
      /--key-file .*missing: .*no such file/,
    );
  });

  it('takes the keys from the environment when no flag gives them', () => {
    const env = { [PRIMARY_KEY_ENV]: 'env-primary', [SECONDARY_KEY_ENV]: 'env-secondary' };
    assert.deepEqual(serveKeys({ key: [] }, env).keys, {
      primaryKey: 'env-primary',
      secondaryKey: 'env-secondary',
    });
    assert.deepEqual(serveKeys({ key: ['flag-key'] }, env).keys, {
      primaryKey: 'flag-key',
      secondaryKey: undefined,
    });
    assert.equal(serveKeys({ key: [] }, {}).keys, undefined);
    assert.throws(() => serveKeys({ key: [] }, { [SECONDARY_KEY_ENV]: 'alone' }), /BERTH_PRIMARY_KEY is not/);
  });

  it('refuses --key and --key-file together', () => {
    assert.throws(
      () => serveKeys({ key: ['a-key'], keyFile: keyFile('both', 'b-key') }, {}),
      /with --key or with --key-file, not both/,
    );
  });
});
