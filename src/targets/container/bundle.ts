/**
 * The scoring server as it ships inside an image: `src/scoring/main.js` and the engine's worker
 * entry bundled with esbuild into one small folder, with the packages that cannot be bundled
 * copied beside them: `onnxruntime-node` (its JS and its linux/x64 shared libraries) and esbuild
 * itself (the server compiles TypeScript scoring scripts when it starts). The worker sits next to
 * main.js because the pool loads it through `new URL('./worker.js', import.meta.url)`.
 *
 * The folder is named by the sha256 of its contents, so a deploy knows from the name alone whether
 * the image layer that holds it can be reused. One bundle per process and cache folder.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { BerthError } from '../../core/errors.js';

export interface ServerBundle {
  /** The folder: main.js, worker.js, package.json, proto/, node_modules/. */
  dir: string;
  /** sha256 of every file in the folder (paths and bytes). */
  sha256: string;
  /** berth's version, recorded in the image labels. */
  version: string;
}

/** Where the image runs the server from, and the runtime's own paths inside it. */
export const serverDirInImage = '/berth/server';
export const esbuildBinaryInImage = `${serverDirInImage}/node_modules/@esbuild/linux-x64/bin/esbuild`;

const here = dirname(fileURLToPath(import.meta.url));
/** dist/src/targets/container → dist/src/scoring */
const scoringDir = join(here, '..', '..', 'scoring');
const require = createRequire(import.meta.url);

function packageRoot(name: string): string {
  let dir = dirname(require.resolve(name));
  while (!existsSync(join(dir, 'package.json')) || !dir.endsWith(`${sep}${name.replace('/', sep)}`)) {
    const up = dirname(dir);
    if (up === dir) throw new BerthError('INTERNAL', `cannot find the ${name} package`);
    dir = up;
  }
  return dir;
}

function findUp(start: string, file: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, file))) return dir;
    if (dirname(dir) === dir) throw new BerthError('INTERNAL', `cannot find ${file} above ${start}`);
  }
}

/** The runtime packages copied as they are, each with a filter that keeps what linux/x64 needs. */
function runtimePackages(): { name: string; from: string; keep: (path: string) => boolean }[] {
  return [
    {
      name: 'onnxruntime-node',
      from: packageRoot('onnxruntime-node'),
      keep: (path) =>
        path === 'package.json' ||
        path.startsWith(`dist${sep}`) ||
        path === 'dist' ||
        ['bin', join('bin', 'napi-v6'), join('bin', 'napi-v6', 'linux')].includes(path) ||
        path.startsWith(join('bin', 'napi-v6', 'linux', 'x64')),
    },
    {
      name: 'onnxruntime-common',
      from: packageRoot('onnxruntime-common'),
      keep: (path) => path === 'package.json' || path === 'dist' || path.startsWith(`dist${sep}`),
    },
    {
      name: 'esbuild',
      from: packageRoot('esbuild'),
      keep: (path) => path === 'package.json' || path === 'lib' || path.startsWith(`lib${sep}`),
    },
    {
      name: '@esbuild/linux-x64',
      from: join(dirname(packageRoot('esbuild')), '@esbuild', 'linux-x64'),
      keep: (path) => path === 'package.json' || path === 'bin' || path.startsWith(`bin${sep}`),
    },
  ];
}

async function* walk(dir: string, base = dir): AsyncGenerator<string> {
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path, base);
    else yield relative(base, path);
  }
}

/** sha256 over the sorted relative paths and bytes of every file under `dir`. */
export async function hashFolder(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const path of walk(dir)) {
    const info = await stat(join(dir, path));
    hash.update(`${path.split(sep).join('/')}\0${info.mode & 0o111 ? 'x' : '-'}\0`);
    hash.update(readFileSync(join(dir, path)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/**
 * What a bundle is made from: the scoring server (`server`), or `berth worker` alone (`worker`,
 * what the Kubernetes target's batch worker image runs: src/cli/worker-main.ts). The worker's entry
 * is the CLI's own command, so a worker pod takes exactly the flags `berth worker` takes.
 */
export type BundleKind = 'server' | 'worker';

function entryPoints(kind: BundleKind): Record<string, string> {
  if (kind === 'worker') return { main: join(scoringDir, '..', 'cli', 'worker-main.js') };
  return { main: join(scoringDir, 'main.js'), worker: join(scoringDir, 'engine', 'worker.js') };
}

async function writeBundle(dir: string, version: string, kind: BundleKind): Promise<void> {
  const packageDir = findUp(scoringDir, join('proto', 'grpc_service.proto'));
  await build({
    entryPoints: entryPoints(kind),
    outdir: dir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: false,
    legalComments: 'none',
    logLevel: 'silent',
    // cpu-features: ssh2's optional native helper, which ssh2 does without (command jobs' ssh).
    external: ['onnxruntime-node', 'esbuild', 'cpu-features'],
    // CommonJS packages (grpc-js) call require(); an ES module has none until it is made.
    banner: {
      js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);",
    },
  });
  await writeFile(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: kind === 'server' ? 'berth-scoring-server' : 'berth-worker', version, type: 'module', private: true }, null, 2)}\n`,
  );
  await mkdir(join(dir, 'proto'), { recursive: true });
  await cp(join(packageDir, 'proto'), join(dir, 'proto'), { recursive: true });
  for (const runtime of runtimePackages()) {
    await cp(runtime.from, join(dir, 'node_modules', runtime.name), {
      recursive: true,
      dereference: true,
      filter: (source) => {
        const path = relative(runtime.from, source);
        return path === '' || runtime.keep(path);
      },
    });
  }
}

const bundles = new Map<string, Promise<{ dir: string; sha256: string }>>();

function berthVersion(): string {
  const root = findUp(here, 'package.json');
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The folder `write` fills, under `cacheDir` as `<name>-<sha256 prefix>`, made once per process per
 * name and folder (a failed build is retried next time). `what` names it in the error.
 */
export function cachedBundle(
  cacheDir: string,
  name: string,
  what: string,
  write: (dir: string) => Promise<void>,
): Promise<{ dir: string; sha256: string }> {
  const key = `${name}\0${cacheDir}`;
  let bundle = bundles.get(key);
  if (bundle === undefined) {
    bundle = (async () => {
      await mkdir(cacheDir, { recursive: true });
      const staging = join(cacheDir, `${name}-staging-${process.pid}-${Date.now()}`);
      try {
        await write(staging);
      } catch (error) {
        await rm(staging, { recursive: true, force: true });
        const message = error instanceof Error ? error.message : String(error);
        throw new BerthError('INTERNAL', `cannot bundle ${what}: ${message}`, { cause: error });
      }
      const sha256 = await hashFolder(staging);
      const dir = join(cacheDir, `${name}-${sha256.slice(0, 16)}`);
      if (existsSync(dir)) await rm(staging, { recursive: true, force: true });
      else await rename(staging, dir);
      return { dir, sha256 };
    })();
    bundles.set(key, bundle);
    void bundle.catch(() => bundles.delete(key));
  }
  return bundle;
}

async function bundleOf(cacheDir: string, kind: BundleKind): Promise<ServerBundle> {
  const version = berthVersion();
  const what = kind === 'server' ? 'the scoring server' : 'the batch worker';
  const bundle = await cachedBundle(cacheDir, kind, what, (dir) => writeBundle(dir, version, kind));
  return { ...bundle, version };
}

/** The server bundle under `cacheDir`, built once per process (a failed build is retried next time). */
export function serverBundle(cacheDir: string): Promise<ServerBundle> {
  return bundleOf(cacheDir, 'server');
}

/** `berth worker` bundled the same way (main.js and the same runtime packages), once per process. */
export function workerBundle(cacheDir: string): Promise<ServerBundle> {
  return bundleOf(cacheDir, 'worker');
}
