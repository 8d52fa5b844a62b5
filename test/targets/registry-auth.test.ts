/**
 * Push credentials read as the docker CLI reads them: `auths` of $DOCKER_CONFIG/config.json, by
 * the image's registry host, in either of the shapes `docker login` and older tools write.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { registryAuthFor, registryHost } from '../../src/targets/container/registry-auth.js';

describe('registry credentials from the docker config', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-docker-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the registry host of an image name', () => {
    assert.equal(registryHost('127.0.0.1:5000/berth/app:1'), '127.0.0.1:5000');
    assert.equal(registryHost('registry.example.com/ml/app:1'), 'registry.example.com');
    assert.equal(registryHost('localhost/app'), 'localhost');
    assert.equal(registryHost('berth/app:1'), 'docker.io');
    assert.equal(registryHost('node:20'), 'docker.io');
  });

  it('reads auth (base64 user:password) or username and password, matching the host with or without a scheme', async () => {
    const env = { DOCKER_CONFIG: dir };
    assert.equal(registryAuthFor('127.0.0.1:5000/berth/app:1', env), undefined, 'no config.json');
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({
        auths: {
          '127.0.0.1:5000': { auth: Buffer.from('berth:pa:ss').toString('base64') },
          'https://registry.example.com/v1/': { username: 'ml', password: 'secret' },
          'https://index.docker.io/v1/': { auth: Buffer.from('hub:token').toString('base64') },
          'other.example.com': {},
        },
      }),
    );
    assert.deepEqual(registryAuthFor('127.0.0.1:5000/berth/app:1', env), {
      username: 'berth',
      password: 'pa:ss',
      serveraddress: '127.0.0.1:5000',
    });
    assert.deepEqual(registryAuthFor('registry.example.com/ml/app:1', env), {
      username: 'ml',
      password: 'secret',
      serveraddress: 'https://registry.example.com/v1/',
    });
    assert.equal(registryAuthFor('berth/app:1', env)?.username, 'hub');
    assert.equal(registryAuthFor('other.example.com/app:1', env), undefined, 'an entry without credentials');
    assert.equal(registryAuthFor('127.0.0.1:5001/app:1', env), undefined, 'another port is another registry');
  });

  it('names the file and the entry that cannot be read', async () => {
    const env = { DOCKER_CONFIG: dir };
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ auths: { 'r.example.com': { auth: 'bm9jb2xvbg==' } } }),
    );
    assert.throws(
      () => registryAuthFor('r.example.com/app:1', env),
      /auths\.r\.example\.com\.auth is not base64 of user:password/,
    );
    await writeFile(join(dir, 'config.json'), '{ not json');
    assert.throws(() => registryAuthFor('r.example.com/app:1', env), /config\.json: not JSON/);
  });
});
