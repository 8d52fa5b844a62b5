/**
 * Where `berth serve` takes its API keys from. `--key` puts a key on the command line, where any
 * user of the machine reads it with `ps` and where shell history keeps it; `--key-file` (a file
 * only its owner can read) and the BERTH_PRIMARY_KEY / BERTH_SECONDARY_KEY variables (the
 * environment of a process is readable only by its owner and root) keep it out of both.
 */
import { readFileSync, statSync } from 'node:fs';
import { BerthError, toBerthError } from '../../core/errors.js';

export const PRIMARY_KEY_ENV = 'BERTH_PRIMARY_KEY';
export const SECONDARY_KEY_ENV = 'BERTH_SECONDARY_KEY';

export interface ServeKeys {
  keys: { primaryKey: string; secondaryKey: string | undefined } | undefined;
  /** Said on stderr: a key file others may read. */
  warning: string | undefined;
}

/** Reads a key file: one or two non-empty lines, primary then secondary. */
function readKeyFile(path: string): { keys: string[]; warning: string | undefined } {
  let text: string;
  let mode: number;
  try {
    text = readFileSync(path, 'utf8');
    mode = statSync(path).mode;
  } catch (error) {
    throw new BerthError('BAD_INPUT', `--key-file ${path}: ${toBerthError(error).message}`);
  }
  const keys = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (keys.length === 0 || keys.length > 2) {
    throw new BerthError(
      'BAD_INPUT',
      `--key-file ${path} must hold one or two keys, one per line (primary, then secondary); it holds ${keys.length}`,
    );
  }
  const warning =
    (mode & 0o077) !== 0
      ? `warning: ${path} can be read by other users (mode ${(mode & 0o777).toString(8)}): chmod 600 it`
      : undefined;
  return { keys, warning };
}

/** The keys from exactly one source: --key, --key-file, or the environment (absent: auth off). */
export function serveKeys(
  flags: { key: string[]; keyFile?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): ServeKeys {
  if (flags.key.length > 0 && flags.keyFile !== undefined)
    throw new BerthError('BAD_INPUT', 'give keys with --key or with --key-file, not both');
  let keys: string[];
  let warning: string | undefined;
  if (flags.key.length > 0) {
    keys = flags.key;
    if (keys.length > 2)
      throw new BerthError('BAD_INPUT', '--key takes at most two keys (primary and secondary)');
  } else if (flags.keyFile !== undefined) {
    ({ keys, warning } = readKeyFile(flags.keyFile));
  } else {
    const primary = env[PRIMARY_KEY_ENV];
    const secondary = env[SECONDARY_KEY_ENV];
    if ((primary === undefined || primary === '') && secondary !== undefined && secondary !== '')
      throw new BerthError('BAD_INPUT', `${SECONDARY_KEY_ENV} is set but ${PRIMARY_KEY_ENV} is not`);
    keys = [primary, secondary].filter((key): key is string => key !== undefined && key !== '');
  }
  const [primaryKey, secondaryKey] = keys;
  return { keys: primaryKey === undefined ? undefined : { primaryKey, secondaryKey }, warning };
}
