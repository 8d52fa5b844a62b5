/**
 * The code snapshot of a job: the files of its code folder that .gitignore / .amlignore do not
 * exclude (and never `.git/`), stored as one folder artifact, so identical code is stored once and
 * a run always sees the code as it was at submission. The git commit and whether the working tree
 * had uncommitted changes are recorded with it. TypeScript files are compiled into the snapshot
 * (typescript.ts), so a syntax error stops the job here, before anything is stored.
 */
import { execFile } from 'node:child_process';
import { copyFile, lstat, mkdir, mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { BerthError } from '../core/errors.js';
import type { ArtifactRef } from '../core/model.js';
import type { ArtifactStore } from '../workspace/artifacts.js';
import { isIgnored, parseIgnoreFile, type IgnoreRule } from './ignore-rules.js';
import { compiledFolder, compileTypeScript } from './typescript.js';

const run = promisify(execFile);

export interface GitState {
  commit: string;
  /** Uncommitted changes under the code folder when the job was submitted. */
  dirty: boolean;
  branch: string | undefined;
}

export interface CodeSnapshot {
  artifact: ArtifactRef;
  /** Files kept, POSIX paths relative to the code folder. */
  files: string[];
  /** The JavaScript compiled from its TypeScript, POSIX paths in the snapshot (`.berth-js/…`). */
  compiled: string[];
  git: GitState | undefined;
}

async function readRules(dir: string, base: string): Promise<IgnoreRule[]> {
  for (const name of ['.amlignore', '.gitignore']) {
    const text = await readFile(join(dir, name), 'utf8').catch(() => undefined);
    if (text !== undefined) return parseIgnoreFile(text, base);
  }
  return [];
}

/** The files of `root` that its ignore files keep, sorted, as POSIX paths. */
export async function listCodeFiles(root: string): Promise<string[]> {
  const realRoot = await realpath(root);
  const files: string[] = [];
  async function visit(dir: string, prefix: string, inherited: IgnoreRule[]): Promise<void> {
    const rules = [...inherited, ...(await readRules(dir, prefix))];
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      const absolute = join(dir, entry.name);
      let isFolder = entry.isDirectory();
      if (entry.isSymbolicLink()) {
        const target = await realpath(absolute).catch(() => undefined);
        const inside = target !== undefined && !relative(realRoot, target).startsWith(`..`);
        if (!inside)
          throw new BerthError('PATH_ESCAPES', `${absolute} links outside the code folder ${root}`);
        isFolder = (await lstat(target)).isDirectory();
      }
      // A `.berth-js` at the top is compiled output (a run's code copied back): made afresh here.
      if (entry.name === '.git' || path === compiledFolder || isIgnored(rules, path, isFolder)) continue;
      if (isFolder) await visit(absolute, path, rules);
      else if (entry.isFile() || entry.isSymbolicLink()) files.push(path);
    }
  }
  await visit(root, '', []);
  return files;
}

export async function readGitState(dir: string): Promise<GitState | undefined> {
  try {
    const commit = (await run('git', ['-C', dir, 'rev-parse', 'HEAD'])).stdout.trim();
    const status = (await run('git', ['-C', dir, 'status', '--porcelain', '--', '.'])).stdout;
    const branch = (await run('git', ['-C', dir, 'rev-parse', '--abbrev-ref', 'HEAD'])).stdout.trim();
    return { commit, dirty: status.trim() !== '', branch: branch === 'HEAD' ? undefined : branch };
  } catch {
    return undefined; // not a git work tree, or no git: nothing to record
  }
}

/** Snapshots `codeDir` into `artifacts`; an absent code folder snapshots nothing. */
export async function snapshotCode(codeDir: string, artifacts: ArtifactStore): Promise<CodeSnapshot> {
  const files = await listCodeFiles(codeDir);
  const staging = await mkdtemp(join(tmpdir(), 'berth-code-'));
  try {
    const copy = join(staging, 'code');
    await mkdir(copy);
    for (const file of files) {
      const target = join(copy, ...file.split('/'));
      await mkdir(dirname(target), { recursive: true });
      await copyFile(join(codeDir, ...file.split('/')), target);
    }
    const compiled = await compileTypeScript(copy, files, codeDir);
    const artifact = await artifacts.putFolder(copy);
    return { artifact, files, compiled, git: await readGitState(codeDir) };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
