#!/usr/bin/env node
// The layer rule of ARCHITECTURE.md, checked: every top-level folder of src/ imports only the
// folders listed for it below (a new folder must be given a place here first), and no file
// reaches itself again through its imports, type-only imports included. `npm run lint` runs it;
// `node scripts/check-layers.mjs <dir>` checks another tree (the tests use that).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Which folders each folder may import. `core` is the bottom; `cli` and `index` the top. */
export const allowedImports = {
  core: [],
  workspace: ['core'],
  registry: ['core', 'workspace'],
  scoring: ['core'],
  batch: ['core', 'scoring', 'workspace'],
  targets: ['core', 'scoring', 'batch', 'registry', 'workspace'],
  endpoints: ['core', 'targets'],
  jobs: ['core', 'workspace', 'registry', 'scoring', 'batch', 'targets'],
  // The device program (berth edge agent): the edge target's protocol, nothing of the control plane.
  edge: ['core', 'targets'],
  server: ['core', 'workspace', 'registry', 'scoring', 'batch', 'targets', 'endpoints', 'jobs'],
  sdk: ['core', 'workspace', 'registry', 'scoring', 'batch', 'targets', 'endpoints', 'jobs'],
  cli: [
    'core',
    'workspace',
    'registry',
    'scoring',
    'batch',
    'targets',
    'endpoints',
    'jobs',
    'server',
    'sdk',
    'edge',
  ],
  index: ['core', 'workspace', 'registry', 'scoring', 'batch', 'targets', 'endpoints', 'jobs', 'sdk'],
};

const importPattern =
  /(?:^|[\s;])(?:import|export)\s*(?:type\s+)?(?:[\w*{}\s,$]*?\s*from\s*)?\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;

function sourceFiles(dir) {
  const found = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...sourceFiles(path));
    else if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) found.push(path);
  }
  return found;
}

/** The relative imports of one file, as absolute .ts paths. */
function importsOf(file) {
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const targets = [];
  for (const match of text.matchAll(importPattern)) {
    targets.push(resolve(dirname(file), match[1]).replace(/\.js$/, '.ts'));
  }
  return targets;
}

/** Strongly connected components of more than one file, or a file importing itself. */
function cycles(graph) {
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const visit = (file) => {
    index.set(file, counter);
    low.set(file, counter);
    counter += 1;
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(file, Math.min(low.get(file), low.get(next)));
      } else if (onStack.has(next)) {
        low.set(file, Math.min(low.get(file), index.get(next)));
      }
    }
    if (low.get(file) === index.get(file)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      if (component.length > 1 || (graph.get(file) ?? []).includes(file)) found.push(component);
    }
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return found;
}

/** Every breach of the layer rule in the tree under `srcDir`, as messages. */
export function checkLayers(srcDir) {
  const root = resolve(srcDir);
  const folderOf = (file) => relative(root, file).split('/')[0].replace(/\.ts$/, '');
  const problems = [];
  const graph = new Map();
  for (const file of sourceFiles(root).filter((f) => !f.endsWith('.test.ts'))) {
    const folder = folderOf(file);
    const allowed = allowedImports[folder];
    const name = relative(root, file);
    if (allowed === undefined) {
      problems.push(`src/${name}: folder "${folder}" has no place in the layers (scripts/check-layers.mjs)`);
    }
    const targets = importsOf(file);
    graph.set(file, targets);
    for (const target of targets) {
      const to = folderOf(target);
      if (to.startsWith('..') || to === folder || allowed === undefined) continue;
      if (!allowed.includes(to)) {
        problems.push(`src/${name}: src/${folder} must not import src/${to} (${relative(root, target)})`);
      }
    }
  }
  for (const component of cycles(graph)) {
    problems.push(`import cycle: ${component.map((f) => `src/${relative(root, f)}`).join(' -> ')}`);
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = checkLayers(process.argv[2] ?? 'src');
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) {
    console.error(`${problems.length} layer problem(s): see ARCHITECTURE.md, Layout`);
    process.exit(1);
  }
}
