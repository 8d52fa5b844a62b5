#!/usr/bin/env node
// Runs every compiled test file with node's test runner. `--fast` leaves out the slow integration
// suites (files named *.slow.test.js), so a developer gets an answer in seconds. Arguments narrow
// the run to files whose path contains one of them; `--exclude=<text>` leaves matching files out.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const fast = process.argv.includes('--fast');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const excludes = process.argv
  .slice(2)
  .filter((a) => a.startsWith('--exclude='))
  .map((a) => a.slice('--exclude='.length));

function findTests(dir) {
  let found = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return found;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found = found.concat(findTests(path));
    else if (entry.endsWith('.test.js')) found.push(path);
  }
  return found;
}

const files = [...findTests('dist/src'), ...findTests('dist/test')]
  .filter((f) => !(fast && f.endsWith('.slow.test.js')))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .filter((f) => !excludes.some((x) => f.includes(x)))
  .sort();

if (files.length === 0) {
  console.error('no test files found under dist/: run `npm run build` first');
  process.exit(1);
}
console.error(`running ${files.length} test files${fast ? ' (fast suite)' : ''}`);
const result = spawnSync(
  process.execPath,
  [
    '--enable-source-maps',
    '--test',
    '--test-concurrency=3',
    // A test that hangs fails after 10 minutes instead of holding the whole run.
    '--test-timeout=600000',
    '--test-reporter=spec',
    ...files,
  ],
  { stdio: 'inherit', env: { ...process.env, BERTH_TEST: '1' } },
);
process.exit(result.status ?? 1);
