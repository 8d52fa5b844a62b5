/**
 * This machine's Debian packages, read through dpkg: which are installed, the closure of their
 * dependencies, the files they installed, and the package owning a path. The Python image layer is
 * made of these files because no image or package can be downloaded here.
 */
import { execFileSync } from 'node:child_process';
import { BerthError } from '../../core/errors.js';

export interface DebianPackage {
  name: string;
  version: string;
  /** Each dependency as its alternatives (`a | b`), names only (versions and :arch dropped). */
  depends: string[][];
  provides: string[];
}

export interface DebianDatabase {
  installed: Map<string, DebianPackage>;
  /** Virtual package (Provides) → the installed packages that provide it. */
  providers: Map<string, string[]>;
}

function dpkgQuery(args: string[]): string {
  try {
    return execFileSync('dpkg-query', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new BerthError(
      'RUN_FAILED',
      `dpkg-query ${args[0]} failed (is this a Debian machine?): ${message}`,
    );
  }
}

function names(field: string): string[][] {
  return field
    .split(',')
    .map((part) =>
      part
        .split('|')
        .map((alternative) => alternative.trim().split(/[\s(:]/)[0] ?? '')
        .filter((name) => name !== ''),
    )
    .filter((alternatives) => alternatives.length > 0);
}

/** Every installed package (`ii`), with its dependencies and what it provides. */
export function readDebianDatabase(): DebianDatabase {
  const output = dpkgQuery([
    '-W',
    '-f=${Package}\t${Version}\t${db:Status-Abbrev}\t${Depends}\t${Pre-Depends}\t${Provides}\n',
  ]);
  const installed = new Map<string, DebianPackage>();
  const providers = new Map<string, string[]>();
  for (const line of output.split('\n')) {
    const [name, version, status, depends, preDepends, provides] = line.split('\t');
    if (name === undefined || version === undefined || status?.startsWith('ii') !== true) continue;
    const entry: DebianPackage = {
      name,
      version,
      depends: [...names(preDepends ?? ''), ...names(depends ?? '')],
      provides: names(provides ?? '').flat(),
    };
    installed.set(name, entry);
    for (const virtual of entry.provides) providers.set(virtual, [...(providers.get(virtual) ?? []), name]);
  }
  return { installed, providers };
}

/**
 * `roots` and every package they depend on, installed ones only; an alternative (`a | b`) takes the
 * first installed choice. Packages `skip` answers true for are not entered.
 */
export function dependencyClosure(
  database: DebianDatabase,
  roots: readonly string[],
  skip: (name: string) => boolean,
): DebianPackage[] {
  const seen = new Map<string, DebianPackage>();
  const queue = [...roots];
  const resolve = (name: string): string | undefined =>
    database.installed.has(name) ? name : database.providers.get(name)?.[0];
  while (queue.length > 0) {
    const name = resolve(queue.shift()!);
    if (name === undefined || seen.has(name) || skip(name)) continue;
    const entry = database.installed.get(name)!;
    seen.set(name, entry);
    for (const alternatives of entry.depends) {
      const chosen = alternatives.find((candidate) => resolve(candidate) !== undefined);
      if (chosen !== undefined) queue.push(chosen);
    }
  }
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The paths the packages installed (files, links and folders alike), as dpkg lists them. */
export function packageFiles(packages: readonly string[]): string[] {
  if (packages.length === 0) return [];
  return dpkgQuery(['-L', ...packages])
    .split('\n')
    .filter((line) => line.startsWith('/'));
}

const owners = new Map<string, string | undefined>();

/** The installed package owning `path`, or undefined (remembered: dpkg-query -S takes ~0.5 s). */
export function owningPackage(path: string): string | undefined {
  if (!owners.has(path)) owners.set(path, queryOwner(path));
  return owners.get(path);
}

function queryOwner(path: string): string | undefined {
  try {
    const output = execFileSync('dpkg-query', ['-S', path], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return output.split(':')[0]?.trim() || undefined;
  } catch {
    return undefined;
  }
}
