/**
 * The Python image layer, for a deployment whose scoring script is a `.py` file: Debian's python3
 * and the script's requirements, taken from this machine's installed Debian packages (nothing can
 * be pulled or downloaded), plus berth's Python worker and Azure compatibility package.
 *
 * The files are the closure of the packages' dependencies as dpkg lists them (docs, manuals and
 * translations left out; links kept as links down to their files), their compiled `__pycache__`
 * files, and every shared library `ldd` finds for their ELF files that no package listed (the
 * BLAS/LAPACK chosen through /etc/alternatives, for one). What every Node.js base image already has
 * is left out: the libraries the host's `node` links against (libc, libm, libstdc++, libgcc_s). The
 * base image must therefore be a glibc distribution no older than this machine's (Debian 12's
 * node:20-bookworm-slim, the default, is).
 *
 * The file list is computed once per package set and kept in the cache folder, keyed by the
 * package set and dpkg's status file, so the next deploy reads one small JSON file.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  lstatSync,
  openSync,
  readlinkSync,
  readSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { pythonRoot } from '../../scoring/runtimes/python/index.js';
import type { ResolvedDeployment } from '../target.js';
import { dependencyClosure, packageFiles, readDebianDatabase } from './debian-packages.js';
import {
  codeFolderRequirements,
  debianPackagesFor,
  readCondaFile,
  type PythonRequirement,
} from './python-requirements.js';
import type { TarEntry } from './tar.js';

/** Where the worker and the compatibility package sit in the image. */
export const pythonRootInImage = '/berth/python';
export const pythonInImage = '/usr/bin/python3';

export interface PythonLayerContent {
  /** The Debian packages in the layer, `name=version`, sorted. */
  packages: string[];
  /** Files under `python/` in the build context (the context's `python/` is copied to `/`). */
  files: TarEntry[];
  /** sha256 of the layer's file list (paths, sizes, packages): part of the image key. */
  sha256: string;
  sizeBytes: number;
  warnings: string[];
}

/** Packages every Node.js base image has (glibc, libgcc, libstdc++) or that only install others. */
const inBaseImage = new Set([
  'libc6',
  'libgcc-s1',
  'libstdc++6',
  'libc-bin',
  'debconf',
  'perl-base',
  'dpkg',
  'tar',
  'coreutils',
  'base-files',
  'debianutils',
  'bash',
  'dash',
  'sensible-utils',
  'init-system-helpers',
  'install-info',
]);
/**
 * Packages a scoring script never needs at run time although a dependency names them: compilers,
 * headers and the build tools behind them (scipy depends on pythran, which depends on g++).
 */
function buildOnly(name: string): boolean {
  return /-(dev|dev-bin|doc)$/.test(name) || /^(gcc|g\+\+|cpp|binutils|libjs-|linux-libc-dev)/.test(name);
}

function notInLayer(name: string): boolean {
  return inBaseImage.has(name) || buildOnly(name);
}

const leftOut = [
  '/usr/share/doc/',
  '/usr/share/man/',
  '/usr/share/info/',
  '/usr/share/locale/',
  '/usr/share/lintian/',
  '/usr/share/bug/',
  '/usr/share/doc-base/',
  '/usr/share/bash-completion/',
  '/usr/share/menu/',
];

/** /lib, /bin and /sbin are links into /usr on a merged-/usr machine: write the real place. */
function inUsr(path: string): string {
  for (const top of ['/lib/', '/lib64/', '/bin/', '/sbin/']) {
    if (path.startsWith(top)) {
      const link = top.slice(0, -1);
      if (lstatSync(link).isSymbolicLink()) return `${realpathSync(link)}/${path.slice(top.length)}`;
    }
  }
  return path;
}

function isElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.toString('latin1') === '\x7fELF';
  } finally {
    closeSync(fd);
  }
}

/** The libraries `ldd` resolves for each file (absolute paths), in batches. */
function sharedLibraries(files: readonly string[]): Set<string> {
  const found = new Set<string>();
  for (let start = 0; start < files.length; start += 64) {
    let output: string;
    try {
      output = execFileSync('ldd', files.slice(start, start + 64), {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (error) {
      // ldd exits non-zero when one file of the batch is not dynamic; its output is still whole.
      const stdout = (error as { stdout?: unknown }).stdout;
      output = typeof stdout === 'string' ? stdout : '';
    }
    for (const match of output.matchAll(/=>\s+(\/\S+)/g)) found.add(match[1]!);
  }
  return found;
}

/**
 * Library file names the base image provides: the ones `node` itself links against (libc, libm,
 * libstdc++, libgcc_s…). Other glibc libraries (libmvec for numpy) come from this machine.
 */
function baseLibraryNames(): Set<string> {
  return new Set([...sharedLibraries([realpathSync(process.execPath)])].map((path) => basename(path)));
}

interface ListedFile {
  /** Path in the image. */
  path: string;
  /** The file or link on this machine. */
  source: string;
  size: number;
  mode: number;
  /** A link's target, as the link holds it. */
  link?: string;
}

/** The layer's files from this machine's Debian packages. */
function listFiles(packages: readonly string[]): ListedFile[] {
  const listed = new Map<string, ListedFile>();
  // Debian compiles each module at install: `__pycache__/<name>.cpython-311.pyc` for python3.11.
  const minor = /python3\.(\d+)$/.exec(realpathSync(pythonInImage))?.[1] ?? '11';
  const tag = `cpython-3${minor}`;
  /** A file, or a chain of links kept as links down to the file (openblas through /etc/alternatives). */
  const add = (original: string): void => {
    let path = original;
    for (let hops = 0; hops < 16; hops += 1) {
      const info = lstatSync(path, { throwIfNoEntry: false });
      const inImage = inUsr(path);
      if (info === undefined || info.isDirectory() || listed.has(inImage)) return;
      if (!info.isSymbolicLink()) {
        if (info.isFile()) {
          listed.set(inImage, { path: inImage, source: path, size: info.size, mode: info.mode & 0o777 });
        }
        return;
      }
      const target = readlinkSync(path);
      const next = resolve(dirname(path), target);
      // A link to a folder or to nothing is left out (a package's files are listed one by one).
      if (statSync(next, { throwIfNoEntry: false })?.isFile() !== true) return;
      listed.set(inImage, { path: inImage, source: path, size: 0, mode: 0o777, link: target });
      path = next;
    }
  };
  for (const path of packageFiles(packages)) {
    if (leftOut.some((prefix) => path.startsWith(prefix))) continue;
    add(path);
    if (path.endsWith('.py')) {
      const compiled = join(dirname(path), '__pycache__', `${basename(path, '.py')}.${tag}.pyc`);
      if (existsSync(compiled)) add(compiled);
    }
  }
  const base = baseLibraryNames();
  const elves = [...listed.values()]
    .filter((file) => file.link === undefined && /\.so(\.|$)|\/bin\//.test(file.path) && isElf(file.source))
    .map((file) => file.source);
  for (const library of sharedLibraries(elves)) {
    if (!base.has(basename(library))) add(library);
  }
  return [...listed.values()].sort((a, b) => a.path.localeCompare(b.path));
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

interface CachedList {
  packages: string[];
  files: ListedFile[];
}

const memory = new Map<string, Promise<CachedList>>();

/** The closure and file list for `roots`, from the cache folder when dpkg's status has not changed. */
function cachedList(roots: readonly string[], cacheDir: string): Promise<CachedList> {
  const status = statSync('/var/lib/dpkg/status', { throwIfNoEntry: false });
  const key = sha256(
    ['python-layer-4', ...roots, String(status?.mtimeMs ?? 0), String(status?.size ?? 0)].join('\n'),
  ).slice(0, 24);
  let list = memory.get(key);
  if (list === undefined) {
    list = (async () => {
      const path = join(cacheDir, `python-layer-${key}.json`);
      if (existsSync(path)) return JSON.parse(await readFile(path, 'utf8')) as CachedList;
      const database = readDebianDatabase();
      const closure = dependencyClosure(database, roots, notInLayer);
      const computed: CachedList = {
        packages: closure.map((entry) => `${entry.name}=${entry.version}`),
        files: listFiles(closure.map((entry) => entry.name)),
      };
      await mkdir(cacheDir, { recursive: true });
      const staging = `${path}.${process.pid}.tmp`;
      await writeFile(staging, JSON.stringify(computed));
      await rename(staging, path);
      return computed;
    })();
    memory.set(key, list);
    void list.catch(() => memory.delete(key));
  }
  return list;
}

/** berth's python/ folder (worker and compatibility package), compiled files left out. */
async function workerEntries(dir: string, prefix: string): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (entry.name === '__pycache__') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await workerEntries(path, posix.join(prefix, entry.name))));
    else if (entry.isFile()) out.push({ path: posix.join(prefix, entry.name), kind: 'file', source: path });
  }
  return out;
}

/** The requirements a deployment declares: environment.conda_file's, and the code folder's requirements.txt. */
export function deploymentRequirements(spec: ResolvedDeployment): PythonRequirement[] {
  return [
    ...(spec.condaFile === undefined ? [] : readCondaFile(spec.condaFile, basename(spec.condaFile))),
    ...(spec.codeDir === undefined ? [] : codeFolderRequirements(spec.codeDir)),
  ];
}

/** The Python layer's content for `requirements`, built from this machine's Debian packages. */
export async function pythonLayerContent(
  requirements: readonly PythonRequirement[],
  cacheDir: string,
): Promise<PythonLayerContent> {
  const mapped = debianPackagesFor(requirements, readDebianDatabase());
  const list = await cachedList(['python3', ...mapped.packages], cacheDir);
  const worker = await workerEntries(pythonRoot, posix.join('python', pythonRootInImage));
  const files: TarEntry[] = [
    ...list.files.map((file): TarEntry =>
      file.link === undefined
        ? { path: posix.join('python', file.path), kind: 'file', source: file.source, mode: file.mode }
        : { path: posix.join('python', file.path), kind: 'link', target: file.link },
    ),
    ...worker,
  ];
  const listing = [
    ...list.packages,
    ...list.files.map((file) => `${file.path}:${file.link ?? `${file.size}:${file.mode.toString(8)}`}`),
    ...(await Promise.all(
      worker.map(async (entry) =>
        entry.kind === 'file' ? `${entry.path}:${sha256(await readFile(entry.source, 'utf8'))}` : entry.path,
      ),
    )),
  ].join('\n');
  return {
    packages: list.packages,
    files,
    sha256: sha256(listing),
    sizeBytes: list.files.reduce((total, file) => total + file.size, 0),
    warnings: mapped.warnings,
  };
}

const pythonInstructions = [
  // One COPY of a root-shaped folder: each step costs the classic builder a container.
  'COPY python/ /',
  `ENV BERTH_PYTHON=${pythonInImage} BERTH_PYTHON_ROOT=${pythonRootInImage}/`,
];

/** The image layer between the server and the model, keyed by the server layer and its file list. */
export async function pythonLayer(
  serverKey: string,
  requirements: readonly PythonRequirement[],
  cacheDir: string,
): Promise<{
  layer: {
    name: 'python';
    key: string;
    instructions: string[];
    files: TarEntry[];
    labels: Record<string, string>;
  };
  warnings: string[];
}> {
  const content = await pythonLayerContent(requirements, cacheDir);
  const key = sha256(['python', serverKey, content.sha256, ...pythonInstructions].join('\0'));
  return {
    layer: {
      name: 'python',
      key,
      instructions: pythonInstructions,
      files: content.files,
      labels: {
        'berth.layer': 'python',
        'berth.key': key,
        'berth.python-packages': content.packages.filter((name) => name.startsWith('python3')).join(' '),
      },
    },
    warnings: content.warnings,
  };
}
