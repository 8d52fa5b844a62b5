/**
 * Function packages: cold start (process spawned → first answer) and warm latency (sequential
 * requests, one instance) for each handler kind, run through the local function host, against
 * (1) a bare package of the same kind whose handler returns a constant (the host's process model
 * and the platform shapes alone) and (2) the scoring server as a process of its own (what every
 * other target runs), all in the same run on the same model (linear, `/score` with one row).
 * Also the package sizes (folder, and the Lambda zip).
 *
 *   npm run bench:function [-- --cold-runs 3] [--requests 300]
 */
import { spawn } from 'node:child_process';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FunctionHost } from '../../src/targets/function/host/function-host.js';
import type { HttpInvocation } from '../../src/targets/function/host/messages.js';
import { functionKinds, type FunctionKind } from '../../src/targets/function/kinds.js';
import { writeFunctionFolder, writeFunctionPackage } from '../../src/targets/function/package.js';
import { scoringOptionsFor } from '../../src/targets/shared/scoring-options.js';
import { send } from '../../test/helpers/http.js';
import { linearDeployment, tempDir } from '../../test/targets/helpers.js';
import { writeBarePackage } from './bare.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const body = Buffer.from(JSON.stringify({ data: [[1, 2, 3]] }));
const invocation: HttpInvocation = {
  method: 'POST',
  path: '/score',
  headers: { 'content-type': 'application/json' },
  bodyBase64: body.toString('base64'),
};

function host(root: string, kind: FunctionKind): FunctionHost {
  return new FunctionHost(root, {
    name: `bench-${kind}`,
    kind,
    maxInstances: 1,
    idleTimeoutMs: 600_000,
    startTimeoutMs: 60_000,
    invocationTimeoutMs: 30_000,
    nodePath: process.execPath,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    log: () => undefined,
    maxBodyBytes: 1024 * 1024,
  });
}

interface Figures {
  coldMs: number[];
  warmMs: number[];
}

/** Cold starts on fresh hosts, then warm invocations on one instance. */
async function measureHost(
  root: string,
  kind: FunctionKind,
  coldRuns: number,
  requests: number,
): Promise<Figures> {
  const coldMs: number[] = [];
  for (let run = 0; run < coldRuns; run += 1) {
    const fresh = host(root, kind);
    const started = performance.now();
    const answer = await fresh.invoke(invocation);
    coldMs.push(performance.now() - started);
    if (answer.status !== 200) throw new Error(`${kind} answered ${answer.status}`);
    await fresh.close();
  }
  const warm = host(root, kind);
  const warmMs: number[] = [];
  try {
    await warm.invoke(invocation);
    for (let n = 0; n < requests; n += 1) {
      const started = performance.now();
      await warm.invoke(invocation);
      warmMs.push(performance.now() - started);
    }
  } finally {
    await warm.close();
  }
  return { coldMs, warmMs };
}

const mainJs = fileURLToPath(new URL('../../src/scoring/main.js', import.meta.url));

/** The scoring server as its own process: spawn → listening → first answer; then warm requests. */
async function measureServer(configFile: string, coldRuns: number, requests: number): Promise<Figures> {
  const start = async (): Promise<{ port: number; stop: () => void; started: number }> => {
    const started = performance.now();
    const child = spawn(process.execPath, [mainJs, '--config', configFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.includes('"event":"listening"')) resolve((JSON.parse(line) as { port: number }).port);
      });
      child.on('exit', (code) => reject(new Error(`the server exited ${code}`)));
    });
    return { port, started, stop: () => child.kill('SIGTERM') };
  };
  const score = (port: number) => send(`http://127.0.0.1:${port}/score`, { raw: body });
  const coldMs: number[] = [];
  for (let run = 0; run < coldRuns; run += 1) {
    const server = await start();
    const answer = await score(server.port);
    coldMs.push(performance.now() - server.started);
    if (answer.status !== 200) throw new Error(`the server answered ${answer.status}`);
    server.stop();
  }
  const server = await start();
  const warmMs: number[] = [];
  try {
    await score(server.port);
    for (let n = 0; n < requests; n += 1) {
      const started = performance.now();
      await score(server.port);
      warmMs.push(performance.now() - started);
    }
  } finally {
    server.stop();
  }
  return { coldMs, warmMs };
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  return total;
}

const ms = (value: number): string => value.toFixed(value < 10 ? 2 : 0).padStart(10);

function row(name: string, figures: Figures): string {
  const cold = figures.coldMs;
  return `${name.padEnd(28)}${ms(percentile(cold, 50))}${ms(Math.max(...cold))}${ms(percentile(figures.warmMs, 50))}${ms(percentile(figures.warmMs, 99))}`;
}

async function main(): Promise<void> {
  const coldRuns = option('--cold-runs', 3);
  const requests = option('--requests', 300);
  const dir = tempDir('bench-function');
  try {
    const spec = linearDeployment(dir.path, {
      target: 'function',
      endpointName: 'bench',
      deploymentName: 'fn',
    });
    const config = join(dir.path, 'scoring.json');
    await writeFile(
      config,
      JSON.stringify({ ...scoringOptionsFor(spec, '127.0.0.1', dir.path), logLevel: 'warn' }),
    );
    const lines: string[] = [];
    lines.push(
      `${'(ms)'.padEnd(28)}${'cold p50'.padStart(10)}${'max'.padStart(10)}${'warm p50'.padStart(10)}${'p99'.padStart(10)}`,
    );
    lines.push(row('scoring server process', await measureServer(config, coldRuns, requests)));
    const sizes: string[] = [];
    for (const kind of functionKinds) {
      const root = join(dir.path, kind);
      await writeFunctionFolder(spec, kind, join(dir.path, 'cache'), root);
      const bare = join(dir.path, `bare-${kind}`);
      await writeBarePackage(bare, kind);
      lines.push(row(`${kind} bare handler`, await measureHost(bare, kind, coldRuns, requests)));
      lines.push(row(`${kind} package`, await measureHost(root, kind, coldRuns, requests)));
      sizes.push(`${kind} package: ${((await folderBytes(root)) / 1024 / 1024).toFixed(1)} MB`);
    }
    const zip = join(dir.path, 'fn.zip');
    await writeFunctionPackage(spec, 'aws-lambda', join(dir.path, 'cache'), zip);
    sizes.push(`aws-lambda zip: ${((await stat(zip)).size / 1024 / 1024).toFixed(1)} MB`);
    process.stdout.write(
      `function packages, linear model, POST /score one row; ${coldRuns} cold starts, ${requests} warm requests each\n` +
        `cold: process spawned to first answer (a fresh host each run); warm: one instance, sequential\n\n` +
        `${lines.join('\n')}\n\n${sizes.join('\n')}\n`,
    );
  } finally {
    dir.remove();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
