/**
 * A real Kubernetes control plane for the Kubernetes target's tests, from the binaries
 * scripts/kubernetes/build.sh builds (Debian's kubernetes 1.20.2 source) and Debian's etcd: etcd,
 * kube-apiserver (its own serving certificate, a token file, RBAC, a service-account key),
 * kube-controller-manager and kube-scheduler, all on free loopback ports, with a kubeconfig for an
 * admin token. No node: pods are created and stay Pending (Unschedulable), the state berth must
 * report (level 2 of the Kubernetes target's README). With `node: true` (level 3, opt-in: root,
 * and slower), test/helpers/kube-node.ts adds a node where pods really run (containerd, CNI bridge,
 * kubelet, a loopback registry). stop() ends the node first, then each process by its pid, and
 * removes the folder.
 *
 * `kubeOrSkip()` answers whether the tests can run: outside CI missing binaries skip them with the
 * reason; in CI (`CI=true`) it throws, because .ci/run builds them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freeLoopbackPort } from '../../src/core/free-port.js';
import { startKubeNode, type KubeNode, type KubeNodeOptions } from './kube-node.js';

export const kubeVersion = 'v1.20.2';
export const kubeBinDir =
  process.env.BERTH_KUBE_BIN ??
  join(process.env.BERTH_KUBE_CACHE ?? '/var/cache/berth/kubernetes', kubeVersion, 'bin');
export const etcdPath = '/usr/bin/etcd';
const binaries = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

/** undefined when the control plane can start here; otherwise why not (outside CI), also printed. */
export function kubeOrSkip(): string | undefined {
  const missing = [etcdPath, ...binaries.map((name) => join(kubeBinDir, name))].filter(
    (path) => !existsSync(path),
  );
  if (missing.length === 0) return undefined;
  const why = `no Kubernetes control plane here (missing ${missing.join(', ')}; scripts/kubernetes/build.sh builds it)`;
  if (process.env.CI === 'true') throw new Error(`${why}: CI must provide one`);
  const skip = `${why}: Kubernetes tests skipped`;
  console.log(`# ${skip}`);
  return skip;
}

export interface KubeCluster {
  /** A kubeconfig file (context `berth-test`, an admin token). */
  kubeconfig: string;
  server: string;
  token: string;
  dir: string;
  /** The node, with `startKubeCluster({ node: true })`. */
  node: KubeNode | undefined;
  /** Writes a kubeconfig for another token (e.g. a service account's) and returns its path. */
  kubeconfigFor(name: string, token: string, namespace?: string): string;
  stop(): Promise<void>;
}

export interface Started {
  name: string;
  child: ChildProcess;
  log: string;
}

export function start(name: string, command: string, args: string[], dir: string): Started {
  const log = join(dir, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(command, args, { stdio: ['ignore', fd, fd], detached: false });
  closeSync(fd);
  return { name, child, log };
}

function tail(path: string, lines = 25): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function getStatus(url: string, token: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${token}` }, ca, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function waitFor(
  what: string,
  process: Started,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (process.child.exitCode !== null || process.child.signalCode !== null) {
      throw new Error(
        `${process.name} exited (${process.child.exitCode ?? process.child.signalCode}):\n${tail(process.log)}`,
      );
    }
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new Error(`${what} not ready after ${timeoutMs} ms:\n${tail(process.log)}`);
    await sleep(250);
  }
}

export async function stopAll(processes: readonly Started[]): Promise<void> {
  for (const { child } of [...processes].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const killed = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!killed) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}

function kubeconfigYaml(server: string, ca: Buffer, user: string, token: string, namespace?: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: berth-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${ca.toString('base64')}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: berth-test',
    '  context:',
    '    cluster: berth-test',
    `    user: ${user}`,
    ...(namespace === undefined ? [] : [`    namespace: ${namespace}`]),
    'current-context: berth-test',
    '',
  ].join('\n');
}

/**
 * Starts the control plane; with `controllers: false`, the API server and etcd only (level 1); with
 * `node: true` (or the node's options), a node too (level 3).
 */
export async function startKubeCluster(
  options: { controllers?: boolean; node?: boolean | KubeNodeOptions } = {},
): Promise<KubeCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-kube-'));
  const processes: Started[] = [];
  let node: KubeNode | undefined;
  try {
    const [etcdPort, peerPort, apiPort] = [
      await freeLoopbackPort(),
      await freeLoopbackPort(),
      await freeLoopbackPort(),
    ];
    mkdirSync(join(dir, 'certs'));
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = join(dir, 'sa.key');
    writeFileSync(saKey, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${token},berth-admin,berth-admin,system:masters\n`, {
      mode: 0o600,
    });

    const etcd = start(
      'etcd',
      etcdPath,
      [
        '--name=berth-test',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=berth-test=http://127.0.0.1:${peerPort}`,
        '--listen-metrics-urls=',
      ],
      dir,
    );
    processes.push(etcd);
    await waitFor('etcd', etcd, async () => (await fetch(`http://127.0.0.1:${etcdPort}/health`)).ok, 60_000);

    const apiserver = start(
      'kube-apiserver',
      join(kubeBinDir, 'kube-apiserver'),
      [
        `--etcd-servers=http://127.0.0.1:${etcdPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        '--insecure-port=0',
        `--cert-dir=${join(dir, 'certs')}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        `--service-account-key-file=${saKey}`,
        `--service-account-signing-key-file=${saKey}`,
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--service-cluster-ip-range=10.96.0.0/24',
        '--allow-privileged=false',
        // A node's name does not resolve here: reach a kubelet (logs) at the address it reports.
        '--kubelet-preferred-address-types=InternalIP,Hostname',
      ],
      dir,
    );
    processes.push(apiserver);
    const certFile = join(dir, 'certs', 'apiserver.crt');
    await waitFor('kube-apiserver certificate', apiserver, async () => existsSync(certFile), 120_000);
    const ca = readFileSync(certFile);
    const server = `https://127.0.0.1:${apiPort}`;
    await waitFor(
      'kube-apiserver',
      apiserver,
      async () => (await getStatus(`${server}/readyz`, token, ca)).body === 'ok',
      180_000,
    );
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(server, ca, 'berth-admin', token), { mode: 0o600 });

    if (options.controllers !== false) {
      processes.push(
        start(
          'kube-controller-manager',
          join(kubeBinDir, 'kube-controller-manager'),
          [
            `--kubeconfig=${kubeconfig}`,
            `--service-account-private-key-file=${saKey}`,
            `--root-ca-file=${certFile}`,
            '--leader-elect=false',
            '--port=0',
            '--secure-port=0',
          ],
          dir,
        ),
        start(
          'kube-scheduler',
          join(kubeBinDir, 'kube-scheduler'),
          [`--kubeconfig=${kubeconfig}`, '--leader-elect=false', '--port=0', '--secure-port=0'],
          dir,
        ),
      );
    }
    if (options.node !== undefined && options.node !== false) {
      const nodeOptions = options.node === true ? {} : options.node;
      node = await startKubeNode({ dir, kubeconfig, server, token, ca }, nodeOptions);
    }
    return {
      kubeconfig,
      server,
      token,
      dir,
      node,
      kubeconfigFor(name, userToken, namespace) {
        const path = join(dir, `kubeconfig-${name}`);
        writeFileSync(path, kubeconfigYaml(server, ca, name, userToken, namespace), { mode: 0o600 });
        return path;
      },
      async stop() {
        await node?.stop();
        await stopAll(processes);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await node?.stop();
    await stopAll(processes);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
