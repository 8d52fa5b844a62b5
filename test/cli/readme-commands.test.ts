/**
 * Every command the README shows has a test. The README's shell blocks and its inline `npx berth …`
 * spans are read, each `berth` command line is resolved against the CLI's own command tree (so a
 * command the CLI does not have fails here too), and each `curl` of the serve section is taken by
 * its path. The map below names, for each, the test file that runs it; the check reads that file
 * and requires it to name the command's words as string literals (the way runBerth's argument
 * lists spell them). A README command with no entry, an entry the README no longer shows, or a
 * file that does not name its command fails the test.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { repoRoot } from '../helpers/cli.js';

const endpointCommands = 'test/cli/endpoint-commands.slow.test.ts';
const functionCommands = 'test/cli/function-commands.slow.test.ts';
const localJobs = 'test/jobs/local-jobs.slow.test.ts';
const jobLoop = 'test/jobs/train-register-serve.slow.test.ts';

/** README command → the test files that run it through the real executable. */
const testedBy: Record<string, string[]> = {
  // `npx berth --help` and `npx berth <command> --help`
  '': ['test/cli/model-commands.test.ts'],
  init: ['test/cli/model-commands.test.ts'],
  'model register': ['test/cli/model-commands.test.ts', jobLoop],
  'model list': ['test/cli/model-commands.test.ts'],
  'model show': ['test/cli/model-commands.test.ts'],
  'model download': ['test/cli/model-commands.test.ts'],
  'model delete': ['test/cli/model-commands.test.ts', endpointCommands],
  serve: ['test/cli/serve-tour.test.ts', 'test/cli/serve.test.ts', 'test/scoring/serve-flags.slow.test.ts'],
  profile: ['test/profile/profile-command.test.ts'],
  'curl /': ['test/cli/serve-tour.test.ts'],
  'curl /score': ['test/cli/serve-tour.test.ts'],
  'curl /swagger.json': ['test/cli/serve-tour.test.ts'],
  'curl /v2/models/ocr-cls': ['test/cli/serve-tour.test.ts'],
  'curl /metrics': ['test/cli/serve-tour.test.ts'],
  'curl /berth/status': ['test/scoring/http-edges.test.ts'],
  'endpoint create': [endpointCommands, 'test/cli/container-commands.slow.test.ts'],
  'endpoint invoke': [
    endpointCommands,
    'test/cli/container-commands.slow.test.ts',
    functionCommands,
    'test/cli/ssh-commands.slow.test.ts',
  ],
  'endpoint update': [endpointCommands],
  'endpoint show': [endpointCommands],
  'endpoint get-credentials': [endpointCommands],
  'endpoint regenerate-keys': [endpointCommands],
  'deployment create': [
    endpointCommands,
    'test/cli/container-commands.slow.test.ts',
    functionCommands,
    'test/cli/ssh-commands.slow.test.ts',
    'test/kubernetes/kubernetes-commands.slow.test.ts',
  ],
  'deployment update': [endpointCommands],
  'deployment logs': [endpointCommands],
  'target list': [endpointCommands],
  'target recommend': [endpointCommands],
  'target create': [
    'test/cli/container-commands.slow.test.ts',
    functionCommands,
    'test/cli/ssh-commands.slow.test.ts',
    'test/kubernetes/kubernetes-commands.slow.test.ts',
    'test/edge/cli.slow.test.ts',
  ],
  'target show': ['test/cli/ssh-commands.slow.test.ts'],
  'server stop': [endpointCommands],
  package: ['test/cli/package.test.ts', 'test/cli/package.slow.test.ts', functionCommands],
  'batch run': ['test/batch/cli.test.ts', 'test/cli/batch-commands.slow.test.ts'],
  'batch status': ['test/batch/cli.test.ts', 'test/cli/batch-commands.slow.test.ts'],
  'batch logs': ['test/batch/cli.test.ts', 'test/cli/batch-commands.slow.test.ts'],
  'batch resume': ['test/cli/batch-commands.slow.test.ts'],
  'batch cancel': ['test/cli/batch-commands.slow.test.ts'],
  worker: ['test/cli/batch-commands.slow.test.ts'],
  'job create': [localJobs, jobLoop, 'test/jobs/cluster-jobs.slow.test.ts'],
  'job list': [localJobs],
  'job show': [localJobs, jobLoop],
  'job logs': [localJobs],
  'job cancel': [localJobs],
  'job download': [localJobs],
  'edge agent': ['test/edge/device.slow.test.ts'],
  'edge status': ['test/edge/cli.slow.test.ts', 'test/edge/device.slow.test.ts'],
};

interface ReadmeCommand {
  key: string;
  line: string;
}

/** The command lines of the README's ```sh blocks (continuations joined) and inline `npx berth …` spans. */
function commandLines(markdown: string): string[] {
  const lines: string[] = [];
  for (const block of markdown.matchAll(/^```(?:sh|bash|console)?\n([\s\S]*?)^```$/gm)) {
    lines.push(...(block[1] ?? '').replace(/\\\n\s*/g, ' ').split('\n'));
  }
  for (const span of markdown.matchAll(/`(npx berth [^`]*)`/g)) lines.push(span[1] ?? '');
  return lines
    .flatMap((line) => line.replace(/\s#\s.*$/, '').split(/;|&&/))
    .map((command) => command.trim())
    .filter((command) => command !== '');
}

/** `berth a b --flag` → "a b" as far as the CLI has those (sub)commands; undefined for another word. */
function commandPath(program: Command, words: string[]): string | undefined {
  let command = program;
  const path: string[] = [];
  for (const word of words) {
    if (word.startsWith('-') || word.startsWith('<')) break;
    const sub = command.commands.find((candidate) => candidate.name() === word);
    // After a leaf command come its arguments; after a group only one of its commands may come.
    if (sub === undefined) return command.commands.length > 0 ? undefined : path.join(' ');
    path.push(word);
    command = sub;
  }
  return path.join(' ');
}

function readmeCommands(markdown: string, program: Command): { found: ReadmeCommand[]; unknown: string[] } {
  const found: ReadmeCommand[] = [];
  const unknown: string[] = [];
  for (const line of commandLines(markdown)) {
    const berth = /^(?:npx )?berth(?:\s+(.*))?$/.exec(line);
    if (berth) {
      const key = commandPath(program, (berth[1] ?? '').split(/\s+/).filter(Boolean));
      if (key === undefined) unknown.push(line);
      else found.push({ key, line });
      continue;
    }
    const curl = /^curl\b.*?localhost:\d+(\/[^\s']*)/.exec(line);
    if (curl) found.push({ key: `curl ${curl[1]}`, line });
  }
  return { found, unknown };
}

/** Whether `source` names the command: each word as a quoted literal, or a curl's path in a URL. */
function names(source: string, key: string): boolean {
  if (key === '') return /['"]--help['"]/.test(source);
  if (key.startsWith('curl ')) {
    const path = key.slice('curl '.length).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    return new RegExp(`\\}${path}[\`'"]`).test(source);
  }
  return key.split(' ').every((word) => source.includes(`'${word}'`) || source.includes(`"${word}"`));
}

const program = buildProgram({ stdout: new PassThrough(), stderr: new PassThrough() });

test('the README reader finds commands in blocks, continuations, chains and inline spans', () => {
  const sample = [
    'Run `npx berth server stop` to end it, and `npx berth <command> --help` for more.',
    '```sh',
    'npx berth model register --name a \\',
    '  --path x.onnx            # a comment; npx berth not-a-command',
    'npx berth batch status <job>; npx berth batch cancel <job>',
    'curl -s localhost:5001/metrics                # Prometheus',
    'npx berth frobnicate now',
    'npx berth model frobnicate',
    '```',
    '```ts',
    "await berth.serve('ignored');",
    '```',
  ].join('\n');
  const { found, unknown } = readmeCommands(sample, program);
  assert.deepEqual(
    found.map((command) => command.key),
    ['model register', 'batch status', 'batch cancel', 'curl /metrics', 'server stop', ''],
  );
  assert.deepEqual(unknown, ['npx berth frobnicate now', 'npx berth model frobnicate']);
});

test('every command in the README has a test that names it', () => {
  const { found, unknown } = readmeCommands(readFileSync(join(repoRoot, 'README.md'), 'utf8'), program);
  assert.deepEqual(unknown, [], 'the README shows commands the CLI does not have');
  // A README whose blocks this reader no longer understands must not pass with nothing found.
  assert.ok(found.length >= 40, `only ${found.length} commands found in the README`);

  const keys = new Set(found.map((command) => command.key));
  const problems = [
    ...found
      .filter((command) => testedBy[command.key] === undefined)
      .map((command) => `no test runs \`${command.line}\`: add one and list it in testedBy`),
    ...Object.keys(testedBy)
      .filter((key) => !keys.has(key))
      .map((key) => `testedBy lists "${key}", which the README no longer shows`),
  ];
  for (const [key, files] of Object.entries(testedBy)) {
    for (const file of files) {
      const path = join(repoRoot, file);
      if (!existsSync(path)) problems.push(`${file} (for "${key}") does not exist`);
      else if (!names(readFileSync(path, 'utf8'), key)) problems.push(`${file} does not name "${key}"`);
    }
  }
  assert.deepEqual(problems, []);
});
