/**
 * Uploads to the ssh target's machine, against a real sshd: a folder ships once by content; an
 * upload cut off mid-way (its partial file left on the machine) resumes from the bytes already
 * there; a partial file whose bytes are not the tar's is caught by the sha256 check before anything
 * is unpacked, deleted, and sent again whole. The folder that lands is always the local one, byte
 * for byte, and neither the partial file nor the packed tar is left behind.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashFolder } from '../../../src/targets/container/bundle.js';
import { RemoteArtifacts } from '../../../src/targets/ssh/artifacts.js';
import { resolveSshTargetConfig } from '../../../src/targets/ssh/config.js';
import { SshConnection } from '../../../src/targets/ssh/connection.js';
import { sshdMissing, startSshd, type TestSshd } from '../../helpers/sshd.js';
import { tempDir } from '../helpers.js';

describe('ssh uploads', { skip: sshdMissing(), concurrency: 1 }, () => {
  let sshd: TestSshd;
  let local: ReturnType<typeof tempDir>;
  let connection: SshConnection;
  let artifacts: RemoteArtifacts;
  let workdir: string;

  /** A folder of `megabytes` of random bytes (and a small file beside them). */
  function folder(name: string, megabytes: number): string {
    const dir = join(local.path, name);
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'model.bin'), randomBytes(megabytes * 2 ** 20));
    writeFileSync(join(dir, 'sub', 'meta.json'), JSON.stringify({ name }));
    return dir;
  }

  /** Leaves the first `bytes` of `content` as the partial upload of `dir` on the machine. */
  async function partialUpload(
    dir: string,
    content: (tar: Buffer) => Buffer,
  ): Promise<{ name: string; size: number }> {
    const name = `model-${(await hashFolder(dir)).slice(0, 24)}`;
    const uploads = join(local.path, 'cache', 'uploads');
    mkdirSync(uploads, { recursive: true });
    const tarFile = join(uploads, `${name}.tar`);
    execFileSync('tar', ['-C', dir, '-cf', tarFile, '.']);
    const tar = readFileSync(tarFile);
    mkdirSync(join(workdir, 'cache'), { recursive: true });
    writeFileSync(join(workdir, 'cache', `.incoming-${name}.tar`), content(tar));
    // As an interrupted upload would have left it: the remote user's.
    sshd.giveToRemote(join(workdir, 'cache'));
    return { name, size: tar.length };
  }

  function same(localDir: string, remoteDir: string): void {
    assert.deepEqual(readFileSync(join(remoteDir, 'model.bin')), readFileSync(join(localDir, 'model.bin')));
    assert.equal(
      readFileSync(join(remoteDir, 'sub', 'meta.json'), 'utf8'),
      readFileSync(join(localDir, 'sub', 'meta.json'), 'utf8'),
    );
  }

  function leftovers(): string[] {
    const cache = readdirSync(join(workdir, 'cache')).filter((name) => name.startsWith('.'));
    const uploads = join(local.path, 'cache', 'uploads');
    return [...cache, ...(existsSync(uploads) ? readdirSync(uploads) : [])];
  }

  before(async () => {
    sshd = await startSshd();
    local = tempDir('ssh-upload');
    workdir = join(sshd.dir, 'remote');
    const config = resolveSshTargetConfig({
      kind: 'ssh',
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      identity: sshd.identity,
      knownHosts: sshd.knownHosts,
      workdir,
      cacheDir: join(local.path, 'cache'),
    });
    connection = new SshConnection(config);
    mkdirSync(workdir, { recursive: true });
    sshd.giveToRemote(workdir);
    artifacts = new RemoteArtifacts(connection, workdir, config.cacheDir);
  });
  after(async () => {
    await connection?.close();
    await sshd?.stop();
    local?.remove();
  });

  it('ships a folder once by content', async () => {
    const dir = folder('once', 2);
    const first = await artifacts.ship('model', dir);
    assert.equal(first.sent, true);
    assert.equal(first.resumedFrom, 0);
    same(dir, first.remoteDir);
    const again = await artifacts.ship('model', dir);
    assert.deepEqual([again.sent, again.remoteDir], [false, first.remoteDir]);
    assert.deepEqual(leftovers(), []);
  });

  it('resumes a cut-off upload from the bytes already on the machine', async () => {
    const dir = folder('resumed', 8);
    const { name, size } = await partialUpload(dir, (tar) => tar.subarray(0, Math.floor(tar.length / 2)));
    assert.ok(!existsSync(join(workdir, 'cache', name)), 'nothing is in use before the upload completes');
    const shipped = await artifacts.ship('model', dir);
    assert.equal(shipped.name, name);
    assert.equal(shipped.sent, true);
    assert.equal(shipped.resumedFrom, Math.floor(size / 2));
    same(dir, shipped.remoteDir);
    assert.deepEqual(leftovers(), []);
  });

  it('never unpacks a partial upload whose bytes are not the tar: it is sent again whole', async () => {
    const dir = folder('damaged', 4);
    // As long as the whole tar, but with other bytes in its middle: only the sha256 check tells.
    const { name } = await partialUpload(dir, (tar) => {
      const damaged = Buffer.from(tar);
      damaged.fill(0x5a, Math.floor(tar.length / 2), Math.floor(tar.length / 2) + 4096);
      return damaged;
    });
    const shipped = await artifacts.ship('model', dir);
    assert.equal(shipped.name, name);
    assert.equal(shipped.resumedFrom, 0);
    same(dir, shipped.remoteDir);
    assert.deepEqual(leftovers(), []);
  });
});
