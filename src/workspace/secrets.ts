/**
 * Secrets at rest. Every secret the metadata store keeps (today: endpoint keys) is sealed with
 * AES-256-GCM under a 32-byte key held in `<workspace>/secret.key`, a file of mode 0600 in a
 * folder of mode 0700, created at random the first time it is needed. A copy of `metadata.db`
 * alone (a backup, a file attached to a report) reveals no secret; whoever can read the key file
 * can read them all, which is why it is the owner's alone.
 *
 * A sealed value is `berth-sealed:v1:<iv>:<tag>:<ciphertext>` (base64url). The associated data
 * names what the value is (e.g. `endpoint:ocr:keys`), so a sealed value copied onto another row
 * does not open there. A value that does not start with the prefix is plain text from before
 * sealing: the store seals it when it opens the workspace.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, open, readFile, stat } from 'node:fs/promises';
import { BerthError } from '../core/errors.js';

const prefix = 'berth-sealed:v1:';
const keyBytes = 32;
const ivBytes = 12;

export const secretKeyFileName = 'secret.key';

export interface SecretBox {
  seal(plain: string, label: string): string;
  /** The plain text of a sealed value; a value that is not sealed is returned as is. */
  open(value: string, label: string): string;
}

export function isSealed(value: string): boolean {
  return value.startsWith(prefix);
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== keyBytes)
    throw new BerthError('INTERNAL', `a secret key is ${keyBytes} bytes, not ${key.length}`);
  return {
    seal(plain, label) {
      const iv = randomBytes(ivBytes);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(label));
      const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const parts = [iv, cipher.getAuthTag(), sealed].map((part) => part.toString('base64url'));
      return `${prefix}${parts.join(':')}`;
    },
    open(value, label) {
      if (!isSealed(value)) return value;
      const [iv, tag, sealed] = value
        .slice(prefix.length)
        .split(':')
        .map((part) => Buffer.from(part, 'base64url'));
      try {
        if (iv === undefined || tag === undefined || sealed === undefined) throw new Error('malformed');
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAAD(Buffer.from(label));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(sealed), decipher.final()]).toString('utf8');
      } catch (error) {
        throw new BerthError(
          'CORRUPT_ARTIFACT',
          `the stored secret ${label} cannot be opened with this workspace's ${secretKeyFileName}: the key file was replaced or the value altered`,
          { cause: error },
        );
      }
    },
  };
}

/**
 * The workspace's secret key from `file`, created (0600, exclusively, so two processes opening a
 * new workspace at once agree on one key) when it does not exist. A key file others can read is
 * made the owner's alone again.
 */
export async function loadSecretKey(file: string): Promise<Buffer> {
  const created = await open(file, 'wx', 0o600).then(
    async (handle) => {
      const key = randomBytes(keyBytes);
      try {
        await handle.writeFile(key.toString('hex'));
        await handle.sync();
      } finally {
        await handle.close();
      }
      return key;
    },
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'EEXIST') return undefined;
      throw new BerthError(
        'PATH_UNREADABLE',
        `cannot create the secret key file ${file}: ${error.code ?? error.message}`,
        {
          cause: error,
        },
      );
    },
  );
  if (created !== undefined) return created;
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  const text = (await readFile(file, 'utf8')).trim();
  // A key file another process is writing this instant is empty for a moment: read it once more.
  const key = Buffer.from(text === '' ? await readAgain(file) : text, 'hex');
  if (key.length !== keyBytes) {
    throw new BerthError(
      'CORRUPT_ARTIFACT',
      `the secret key file ${file} does not hold a ${keyBytes}-byte key (64 hex digits): restore it from a backup`,
    );
  }
  return key;
}

async function readAgain(file: string): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const text = (await readFile(file, 'utf8')).trim();
    if (text !== '') return text;
  }
  return '';
}
