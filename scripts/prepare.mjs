#!/usr/bin/env node
// npm's `prepare` step. `npm ci` and `npm install` run it to compile the project; npm also runs it
// each time `npx berth` installs this folder as the package that holds the command. Compiling
// then would cost half a minute per command and rewrite dist/ under any running berth process, so
// the compiler runs only when dist/ is missing or older than a source file or the configuration.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const inputs = ['src', 'test', 'bench', 'scripts'];
const configuration = ['tsconfig.json', 'package.json', 'package-lock.json'];
const marker = join('dist', 'src', 'cli', 'main.js');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function upToDate() {
  if (!existsSync(marker)) return false;
  const built = statSync(marker).mtimeMs;
  const newest = Math.max(
    ...inputs.filter((dir) => existsSync(dir)).map(newestSource),
    ...configuration.filter((file) => existsSync(file)).map((file) => statSync(file).mtimeMs),
  );
  return newest <= built;
}

if (upToDate()) process.exit(0);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { stdio: 'inherit' });
process.exit(result.status ?? 1);
