/**
 * The ssh target's costs, against a real sshd on this machine (test/helpers/sshd.ts: as root, an
 * unprivileged user in a network namespace of its own, reached over a veth pair): cold deploy
 * (empty workdir: server bundle, supervisor, model and code shipped), a warm rolling update that
 * changes only the code, and what the SSH port forward adds to a request: the same scoring server
 * answered sequentially on the local target (direct loopback) and on the ssh target (forward).
 *
 *   npm run bench:ssh -- [--runs 3] [--requests 500]
 */
import { writeFileSync } from 'node:fs';
import { REPLICA_TOKEN_HEADER } from '../../src/scoring/auth.js';
import { createLocalTarget } from '../../src/targets/local/index.js';
import { createSshTarget } from '../../src/targets/ssh/index.js';
import type { ComputeTarget, ResolvedDeployment } from '../../src/targets/target.js';
import { send } from '../../test/helpers/http.js';
import { startSshd } from '../../test/helpers/sshd.js';
import { echoScript, scriptDeployment, tempDir } from '../../test/targets/helpers.js';

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

function withCode(spec: ResolvedDeployment, version: string): ResolvedDeployment {
  writeFileSync(spec.scoringScript!, echoScript.replace('ok: true', `ok: "${version}"`));
  return spec;
}

/** Sequential requests on one keep-alive connection pool: milliseconds each. */
async function latencies(
  target: ComputeTarget,
  handle: Parameters<ComputeTarget['status']>[0],
  n: number,
): Promise<number[]> {
  const replica = (await target.status(handle)).replicas[0];
  // The replica token, as the gateway sends it.
  const headers = replica?.token === undefined ? undefined : { [REPLICA_TOKEN_HEADER]: replica.token };
  const out: number[] = [];
  for (let i = 0; i < n + 20; i += 1) {
    const started = performance.now();
    const answer = await send(`${replica?.url}/score`, { body: { n: i }, headers });
    const took = performance.now() - started;
    if (answer.status !== 200) throw new Error(answer.body);
    if (i >= 20) out.push(took);
  }
  return out;
}

async function main(): Promise<void> {
  const runs = Number(option('--runs') ?? 3);
  const requests = Number(option('--requests') ?? 500);
  const sshd = await startSshd();
  const dir = tempDir('bench-ssh');
  const local = createLocalTarget({ kind: 'local', logsDir: `${dir.path}/logs` });
  const ssh = createSshTarget({
    kind: 'ssh',
    name: 'bench',
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    identity: sshd.identity,
    knownHosts: sshd.knownHosts,
    workdir: `${sshd.dir}/remote`,
    nodePath: process.execPath,
    cacheDir: `${dir.path}/cache`,
  });
  try {
    const spec = scriptDeployment(dir.path, echoScript, { endpointName: 'bench', deploymentName: 'ssh' });
    const sshSpec = { ...spec, target: 'bench' };
    // Connecting and reading the machine happen once per target: not part of the cold deploy.
    await ssh.machine();
    let started = performance.now();
    let handle = await ssh.deploy(withCode(sshSpec, 'cold'), () => undefined);
    const cold = performance.now() - started;
    const warm: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      started = performance.now();
      handle = await ssh.update(handle, withCode(sshSpec, `warm-${run}`), () => undefined);
      warm.push(performance.now() - started);
    }
    const throughForward = await latencies(ssh, handle, requests);
    await ssh.remove(handle);
    const localHandle = await local.deploy(withCode(spec, 'local'), () => undefined);
    const direct = await latencies(local, localHandle, requests);
    await local.remove(localHandle);

    const s = (value: number): string => `${(value / 1000).toFixed(2)} s`;
    const ms = (value: number): string => `${value.toFixed(3)} ms`;
    const rows: [string, string][] = [
      ['ssh: cold deploy to ready (server bundle built, everything shipped)', s(cold)],
      ['ssh: rolling update, code change only (median)', s(percentile(warm, 0.5))],
      [
        'local: request p50 / p99 (direct loopback)',
        `${ms(percentile(direct, 0.5))} / ${ms(percentile(direct, 0.99))}`,
      ],
      [
        'ssh: request p50 / p99 (through the SSH forward)',
        `${ms(percentile(throughForward, 0.5))} / ${ms(percentile(throughForward, 0.99))}`,
      ],
      [
        'the forward adds, p50 / p99',
        `${ms(percentile(throughForward, 0.5) - percentile(direct, 0.5))} / ${ms(percentile(throughForward, 0.99) - percentile(direct, 0.99))}` +
          ` (${(percentile(throughForward, 0.5) / percentile(direct, 0.5)).toFixed(2)}× / ${(percentile(throughForward, 0.99) / percentile(direct, 0.99)).toFixed(2)}×)`,
      ],
    ];
    const width = Math.max(...rows.map(([label]) => label.length));
    console.log(
      `ssh target: remote is ${sshd.isolation}; ${runs} update(s); ${requests} sequential requests each`,
    );
    for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);
  } finally {
    await ssh.close();
    await local.close();
    await sshd.stop();
    dir.remove();
  }
}

await main();
