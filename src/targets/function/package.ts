/**
 * A deployment as a function package: the runtime folder (`berth/`, see bundle.ts), the model in
 * `model/`, the scoring code in `code/`, the scoring options in `scoring.json` (paths relative to
 * the package), and the entry the platform loads:
 *
 * - `fetch`: `index.js` exporting `default { fetch }` and `handle(request)`;
 * - `aws-lambda`: `index.mjs` exporting `handler` (handler setting `index.handler`, runtime
 *   nodejs20.x, x86_64); written as a zip when the output ends in `.zip`;
 * - `azure-functions`: a v4 Node.js app: `host.json` (route prefix removed), `package.json`
 *   (main `src/functions/berth.js`, depending on `@azure/functions`), and the HTTP trigger
 *   registered with `app.http` on the route `{*path}`.
 */
import { cp, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix, relative, resolve, sep } from 'node:path';
import type { ScoringOptions } from '../../scoring/options.js';
import { targetCapabilities } from '../capabilities.js';
import { scoringOptionsFor } from '../shared/scoring-options.js';
import type { ResolvedDeployment } from '../target.js';
import { validateForTarget } from '../validate.js';
import { functionBundle } from './bundle.js';
import type { FunctionKind } from './kinds.js';
import { writeZip, type ZipEntry } from './zip.js';

export interface FunctionPackage {
  /** The folder or zip written. */
  output: string;
  kind: FunctionKind;
  /** The file the platform loads, relative to the package. */
  entry: string;
  warnings: string[];
}

const toPosix = (path: string): string => path.split(sep).join('/');

/** The scoring options inside a package: the replicas' options, with paths relative to the package. */
export function functionScoringOptions(spec: ResolvedDeployment): ScoringOptions {
  const options = scoringOptionsFor(spec, '127.0.0.1', posix.join(tmpdir(), 'berth-data'));
  const model = spec.model;
  const inPackage = (from: string, to: string, path: string | undefined): string | undefined =>
    path === undefined ? undefined : posix.join(to, toPosix(relative(from, path)));
  const { port: _port, host: _host, ...rest } = options;
  return {
    ...rest,
    // resources.memory holds the instance's scoring server (its whole process), as on local.
    ...(spec.resources.memoryBytes === undefined ? {} : { memoryLimitBytes: spec.resources.memoryBytes }),
    models: [
      {
        name: model.name,
        version: model.version,
        framework: model.framework,
        modelDir: 'model',
        modelFile: inPackage(model.modelDir, 'model', model.modelFile),
        signature: model.signature,
      },
    ],
    scoringScript:
      spec.codeDir === undefined ? undefined : inPackage(spec.codeDir, 'code', spec.scoringScript),
  };
}

const entries: Record<FunctionKind, { file: string; text: string }> = {
  fetch: {
    file: 'index.js',
    text: "export { default, handle, warm } from './berth/fetch.js';\n",
  },
  'aws-lambda': {
    file: 'index.mjs',
    text: "export { handler } from './berth/aws-lambda.js';\n",
  },
  'azure-functions': {
    file: 'src/functions/berth.js',
    text: [
      "import { app } from '@azure/functions';",
      "import { handler } from '../../berth/azure-functions.js';",
      '',
      "app.http('berth', {",
      "  methods: ['GET', 'POST'],",
      "  authLevel: 'anonymous',",
      "  route: '{*path}',",
      '  handler,',
      '});',
      '',
    ].join('\n'),
  },
};

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

async function writePlatformFiles(
  root: string,
  kind: FunctionKind,
  spec: ResolvedDeployment,
  version: string,
): Promise<void> {
  const entry = entries[kind];
  await mkdir(join(root, ...entry.file.split('/').slice(0, -1)), { recursive: true });
  await writeFile(join(root, entry.file), entry.text);
  const name = `${spec.endpointName}-${spec.deploymentName}`;
  if (kind === 'azure-functions') {
    await writeFile(
      join(root, 'package.json'),
      json({
        name,
        version,
        private: true,
        type: 'module',
        main: entry.file,
        dependencies: { '@azure/functions': '^4.0.0' },
      }),
    );
    await writeFile(
      join(root, 'host.json'),
      json({
        version: '2.0',
        extensions: { http: { routePrefix: '' } },
        extensionBundle: { id: 'Microsoft.Azure.Functions.ExtensionBundle', version: '[4.*, 5.0.0)' },
      }),
    );
  } else {
    await writeFile(
      join(root, 'package.json'),
      json({ name, version, private: true, type: 'module', main: entry.file }),
    );
  }
}

/** Writes the package as a folder at `root` (created; files in it are overwritten). */
export async function writeFunctionFolder(
  spec: ResolvedDeployment,
  kind: FunctionKind,
  cacheDir: string,
  root: string,
): Promise<void> {
  const bundle = await functionBundle(cacheDir, kind);
  await mkdir(root, { recursive: true });
  await rm(join(root, 'berth'), { recursive: true, force: true });
  await cp(bundle.dir, join(root, 'berth'), { recursive: true });
  await rm(join(root, 'model'), { recursive: true, force: true });
  await cp(spec.model.modelDir, join(root, 'model'), { recursive: true, dereference: true });
  if (spec.codeDir !== undefined) {
    await rm(join(root, 'code'), { recursive: true, force: true });
    await cp(spec.codeDir, join(root, 'code'), {
      recursive: true,
      dereference: true,
      filter: (source) => !source.split(sep).includes('.git'),
    });
  }
  await writeFile(join(root, 'scoring.json'), json(functionScoringOptions(spec)));
  await writePlatformFiles(root, kind, spec, bundle.version);
}

async function zipEntries(root: string): Promise<ZipEntry[]> {
  const out: ZipEntry[] = [];
  const visit = async (dir: string): Promise<void> => {
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await visit(path);
      else
        out.push({
          path: toPosix(relative(root, path)),
          source: path,
          mode: (await stat(path)).mode & 0o777,
        });
    }
  };
  await visit(root);
  return out;
}

/**
 * `berth package --function KIND --output PATH`: checks the spec against the function row of the
 * table, then writes the package: a folder, or (aws-lambda, PATH ending in `.zip`) a zip archive.
 */
export async function writeFunctionPackage(
  spec: ResolvedDeployment,
  kind: FunctionKind,
  cacheDir: string,
  output: string,
): Promise<FunctionPackage> {
  const warnings = validateForTarget(spec, targetCapabilities.function, 'function');
  const target = resolve(output);
  const entry = entries[kind].file;
  if (!target.endsWith('.zip')) {
    await writeFunctionFolder(spec, kind, cacheDir, target);
    return { output: target, kind, entry, warnings };
  }
  const staging = await mkdtemp(join(tmpdir(), 'berth-function-'));
  try {
    await writeFunctionFolder(spec, kind, cacheDir, staging);
    await rm(target, { force: true });
    await writeZip(target, await zipEntries(staging));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { output: target, kind, entry, warnings };
}
