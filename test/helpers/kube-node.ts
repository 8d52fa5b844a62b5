/**
 * Level 3 of the test cluster (test/helpers/kube-cluster.ts): a node where pods really run. Opt-in
 * (`startKubeCluster({ node: true })`), because it needs root and takes longer than the control
 * plane alone.
 *
 * - A containerd of its own (Debian's 1.6): own root, state, socket and opt folder; CRI plugin with
 *   `restrict_oom_score_adj = true` (these machines refuse a negative oom_score_adj, which the
 *   kubelet asks for every sandbox), AppArmor off, a random stream port, a pause image made here
 *   (the static `pause` that scripts/kubernetes/build.sh builds, packed with `docker import` and
 *   `docker save`, then `ctr images import`).
 * - A loopback registry (Debian's `docker-registry`) that containerd pulls from over plain HTTP.
 * - CNI from Debian's `containernetworking-plugins`: a bridge of the node's own (made here, with a
 *   /24 nobody on the machine routes), host-local IPAM, loopback. The host routes to the pods
 *   through that bridge, so pod IPs answer from the test process.
 * - A kubelet (cgroupfs driver under a cgroup root of its own, failSwapOn false, serving on the
 *   bridge's address so the API server reaches it for logs, eviction thresholds near zero).
 *
 * stop() deletes the node's pods, ends the kubelet, kills what containerd still runs and ends it,
 * unmounts what is left under the node's folder, deletes the bridge, the sandboxes' network
 * namespaces and libcni's cache of them, the cgroups and the pods' log folders, and puts back the kernel settings the kubelet
 * changed (it sets vm.overcommit_memory, kernel.panic, … on start).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  lstatSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freeLoopbackPort } from '../../src/core/free-port.js';
import { tarStream } from '../../src/targets/container/tar.js';
import { testEngine } from '../fixtures/docker-base-image.js';
import { kubeBinDir, start, stopAll, waitFor, type Started } from './kube-cluster.js';

const run = promisify(execFile);

const containerdPath = '/usr/bin/containerd';
const ctrPath = '/usr/bin/ctr';
const registryPath = '/usr/bin/docker-registry';
const cniDir = '/usr/lib/cni';
const pauseTag = 'berth-test-pause:1';
/** What the kubelet writes on start when protectKernelDefaults is off; put back on stop. */
const kernelTunables = [
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
];

/** What a node needs beyond the control plane; the first one missing, or undefined. */
export function kubeNodeMissing(): string | undefined {
  const needed = [
    join(kubeBinDir, 'kubelet'),
    join(kubeBinDir, 'pause'),
    containerdPath,
    ctrPath,
    registryPath,
    join(cniDir, 'bridge'),
    join(cniDir, 'host-local'),
    join(cniDir, 'loopback'),
  ];
  const missing = needed.filter((path) => !existsSync(path));
  if (missing.length > 0) {
    return `missing ${missing.join(', ')} (BERTH_KUBE_KUBELET=1 scripts/kubernetes/build.sh; apt-get install containerd containernetworking-plugins docker-registry)`;
  }
  if (process.getuid?.() !== 0) return 'a node needs root (containerd, the kubelet, a bridge)';
  return undefined;
}

export interface KubeNodeOptions {
  /**
   * The registry asks for these credentials (htpasswd with bcrypt, as Debian's docker-registry
   * reads it) for every pull and push. Default: none asked.
   */
  registryAuth?: { username: string; password: string };
}

/** An htpasswd line with a bcrypt hash: perl's crypt() is libxcrypt's, which has bcrypt (`$2b$`). */
async function htpasswdLine(username: string, password: string): Promise<string> {
  const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(22);
  // The 22nd character carries 2 bits of the 128-bit salt; these four leave the unused bits zero.
  const salt =
    [...bytes.subarray(0, 21)].map((byte) => alphabet[byte % 64]).join('') + '.Oeu'[bytes[21]! % 4];
  const { stdout } = await run('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, `$2b$10$${salt}`]);
  if (!stdout.startsWith('$2b$10$')) throw new Error(`no bcrypt from perl's crypt(): ${stdout}`);
  return `${username}:${stdout}\n`;
}

export interface KubeNode {
  name: string;
  bridge: string;
  /** The pods' subnet, e.g. 10.213.7.0/24; the bridge holds its .1. */
  subnet: string;
  /** The loopback registry, `127.0.0.1:PORT` (plain HTTP; with `registryAuth`, basic auth). */
  registry: string;
  /** ctr against the node's containerd, in the k8s.io namespace: what it holds. */
  images(): Promise<string[]>;
  stop(): Promise<void>;
}

interface NodeContext {
  dir: string;
  kubeconfig: string;
  server: string;
  token: string;
  ca: Buffer;
}

async function apiGet(context: NodeContext, path: string): Promise<{ status: number; body: unknown }> {
  const { request } = await import('node:https');
  return await new Promise((resolve, reject) => {
    const req = request(
      `${context.server}${path}`,
      { headers: { authorization: `Bearer ${context.token}` }, ca: context.ca, timeout: 5000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: kept as text
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function apiDelete(context: NodeContext, path: string): Promise<void> {
  const { request } = await import('node:https');
  await new Promise<void>((resolve) => {
    const req = request(
      `${context.server}${path}`,
      {
        method: 'DELETE',
        headers: { authorization: `Bearer ${context.token}`, 'content-type': 'application/json' },
        ca: context.ca,
        timeout: 5000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve());
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve());
    req.end(JSON.stringify({ gracePeriodSeconds: 0 }));
  });
}

/** A /24 under 10.200.0.0/13 that no route on this machine covers. */
async function freeSubnet(): Promise<string> {
  const { stdout } = await run('ip', ['-4', 'route', 'show']);
  for (let attempt = 0; attempt < 50; attempt++) {
    const [a = 0, b = 0] = randomBytes(2);
    const prefix = `10.${200 + (a % 8)}.${b}.`;
    if (!stdout.includes(prefix)) return `${prefix}0/24`;
  }
  throw new Error('no free /24 under 10.200.0.0/13 for the node bridge');
}

function containerdConfig(dir: string, socket: string, registry: string, pauseImage: string): string {
  const cri = '[plugins."io.containerd.grpc.v1.cri"]';
  return [
    'version = 2',
    `root = "${join(dir, 'containerd', 'root')}"`,
    `state = "${join(dir, 'containerd', 'state')}"`,
    '[grpc]',
    `  address = "${socket}"`,
    '[ttrpc]',
    `  address = "${socket}.ttrpc"`,
    '[debug]',
    '  address = ""',
    '[metrics]',
    '  address = ""',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${join(dir, 'containerd', 'opt')}"`,
    cri,
    `  sandbox_image = "${pauseImage}"`,
    '  restrict_oom_score_adj = true',
    '  disable_apparmor = true',
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    `${cri.slice(0, -1)}.cni]`,
    `  bin_dir = "${cniDir}"`,
    `  conf_dir = "${join(dir, 'cni')}"`,
    `${cri.slice(0, -1)}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `${cri.slice(0, -1)}.registry.mirrors."${registry}"]`,
    `  endpoint = ["http://${registry}"]`,
    '',
  ].join('\n');
}

function cniConfig(network: string, bridge: string, subnet: string, ipamDir: string): string {
  return JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: network,
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          // A default route through the bridge, as every cluster's CNI gives its pods: a pod
          // reaches a Service's IP (the API server's, for the in-cluster gateway) through the host.
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: ipamDir,
          },
        },
        { type: 'loopback' },
      ],
    },
    null,
    2,
  );
}

function kubeletConfig(address: string, port: number, cgroupRoot: string): string {
  return [
    'apiVersion: kubelet.config.k8s.io/v1beta1',
    'kind: KubeletConfiguration',
    `address: ${address}`,
    `port: ${port}`,
    'readOnlyPort: 0',
    'healthzPort: 0',
    'cgroupDriver: cgroupfs',
    `cgroupRoot: ${cgroupRoot}`,
    'failSwapOn: false',
    'authentication:',
    '  anonymous: {enabled: true}',
    '  webhook: {enabled: false}',
    'authorization: {mode: AlwaysAllow}',
    'evictionHard: {memory.available: "1Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}',
    'imageGCHighThresholdPercent: 100',
    'imageGCLowThresholdPercent: 99',
    'serializeImagePulls: false',
    'syncFrequency: 5s',
    'nodeStatusUpdateFrequency: 5s',
    'fileCheckFrequency: 60s',
    'maxPods: 20',
    '',
  ].join('\n');
}

/** The pause image in the node's containerd: `docker import` of the static pause, `docker save`, `ctr images import`. */
async function importPause(socket: string, dir: string): Promise<string> {
  const engine = testEngine();
  const found = await engine.listImages({ filters: JSON.stringify({ reference: [pauseTag] }) });
  if (found.length === 0) {
    const [repo, tag] = pauseTag.split(':');
    const stream = await engine.importImage(
      tarStream([{ path: 'pause', kind: 'file', source: join(kubeBinDir, 'pause'), mode: 0o755 }]),
      { repo, tag, changes: ['ENTRYPOINT ["/pause"]'] } as object,
    );
    await new Promise<void>((resolve, reject) =>
      engine.modem.followProgress(stream, (error: Error | null) =>
        error === null ? resolve() : reject(error),
      ),
    );
  }
  const archive = join(dir, 'pause.tar');
  await run('docker', ['save', '-o', archive, pauseTag]);
  await run(ctrPath, ['--address', socket, '-n', 'k8s.io', 'images', 'import', archive]);
  rmSync(archive, { force: true });
  return `docker.io/library/${pauseTag}`;
}

function cgroupControllers(): string[] {
  // Real folders only, not the links such as cpu -> cpu,cpuacct.
  return readdirSync('/sys/fs/cgroup').filter((name) =>
    lstatSync(join('/sys/fs/cgroup', name)).isDirectory(),
  );
}

function removeCgroupTree(path: string): void {
  if (!existsSync(path)) return;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) removeCgroupTree(join(path, entry.name));
  }
  try {
    rmdirSync(path);
  } catch {
    // a cgroup with a process still in it stays; stop() ended everything it started first
  }
}

async function netnsNames(): Promise<string[]> {
  try {
    const { stdout } = await run('ip', ['netns', 'list']);
    return stdout
      .split('\n')
      .map((line) => line.split(' ')[0] ?? '')
      .filter((name) => name !== '');
  } catch {
    return [];
  }
}

/** Pids of processes whose command line names `needle` (the shims of this node's containerd). */
function pidsNaming(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // gone already
    }
  }
  return pids;
}

export async function startKubeNode(context: NodeContext, options: KubeNodeOptions = {}): Promise<KubeNode> {
  const id = randomBytes(3).toString('hex');
  const name = `berth-node-${id}`;
  const bridge = `bk${id}`;
  const dir = join(context.dir, 'node');
  const socket = join(dir, 'containerd.sock');
  const cgroupRoot = `/berth-node-${id}`;
  const processes: Started[] = [];
  const netnsBefore = new Set(await netnsNames());
  const tunables = new Map(
    kernelTunables.map((key) => [key, readFileSync(`/proc/sys/${key}`, 'utf8').trim()] as const),
  );
  const podLogDirs = new Set<string>();
  let subnet = '';

  const nodePods = async (): Promise<{ namespace: string; name: string; uid: string }[]> => {
    const answer = await apiGet(context, `/api/v1/pods?fieldSelector=spec.nodeName%3D${name}`).catch(
      () => undefined,
    );
    const items =
      (answer?.body as { items?: { metadata: { namespace: string; name: string; uid: string } }[] })?.items ??
      [];
    return items.map((item) => item.metadata);
  };

  const ctr = async (...args: string[]): Promise<string> =>
    (await run(ctrPath, ['--address', socket, '-n', 'k8s.io', ...args])).stdout;

  const stop = async (): Promise<void> => {
    const kubelet = processes.find((process) => process.name === 'kubelet');
    // 1. The kubelet stops the pods' containers and sandboxes (and their network) itself.
    if (kubelet !== undefined && kubelet.child.exitCode === null) {
      for (const pod of await nodePods()) {
        podLogDirs.add(`${pod.namespace}_${pod.name}_${pod.uid}`);
        await apiDelete(context, `/api/v1/namespaces/${pod.namespace}/pods/${pod.name}`);
      }
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const tasks = await ctr('tasks', 'ls', '-q').catch(() => '');
        if (tasks.trim() === '') break;
        await sleep(500);
      }
    }
    await stopAll(processes.filter((process) => process.name === 'kubelet'));
    // 2. What containerd still runs is killed and deleted, then containerd ends.
    const containerd = processes.find((process) => process.name === 'containerd');
    if (containerd !== undefined && containerd.child.exitCode === null) {
      const tasks = (await ctr('tasks', 'ls', '-q').catch(() => '')).split('\n').filter(Boolean);
      for (const task of tasks) {
        await ctr('tasks', 'kill', '-s', 'SIGKILL', task).catch(() => undefined);
        await sleep(200);
        await ctr('tasks', 'delete', '-f', task).catch(() => undefined);
      }
      const containers = (await ctr('containers', 'ls', '-q').catch(() => '')).split('\n').filter(Boolean);
      for (const container of containers) await ctr('containers', 'rm', container).catch(() => undefined);
    }
    await stopAll(processes.filter((process) => process.name !== 'kubelet'));
    for (const pid of pidsNaming(socket)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    // 3. Mounts under the node's folder (pod volumes, sandbox shm, snapshots), deepest first.
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4] ?? '')
      .filter((path) => path.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
    for (const path of mounts) await run('umount', ['-l', path]).catch(() => undefined);
    // 4. The network: the sandboxes' namespaces this node made and left, and the bridge.
    for (const netns of await netnsNames()) {
      if (netnsBefore.has(netns) || !netns.startsWith('cni-')) continue;
      const { stdout } = await run('ip', ['netns', 'pids', netns]).catch(() => ({ stdout: 'busy' }));
      if (stdout.trim() === '') await run('ip', ['netns', 'delete', netns]).catch(() => undefined);
    }
    await run('ip', ['link', 'delete', bridge]).catch(() => undefined);
    // libcni's cache of the sandboxes' results (containerd 1.6 has no setting to move it).
    const cniCache = '/var/lib/cni/results';
    for (const entry of existsSync(cniCache) ? readdirSync(cniCache) : []) {
      const sandbox = new RegExp(`^berth-${id}-([0-9a-f]+)-eth0$`).exec(entry)?.[1];
      if (sandbox === undefined) continue;
      rmSync(join(cniCache, entry), { force: true });
      rmSync(join(cniCache, `cni-loopback-${sandbox}-lo`), { force: true });
    }
    // 5. Cgroups, pod log folders (of every pod the kubelet was given), kernel settings.
    const kubeletLog = existsSync(join(dir, 'kubelet.log'))
      ? readFileSync(join(dir, 'kubelet.log'), 'utf8')
      : '';
    for (const [, list = ''] of kubeletLog.matchAll(/SyncLoop \(ADD, "api"\): "([^"]*)"/g)) {
      for (const [, pod, namespace, uid] of list.matchAll(/([a-z0-9.-]+)_([a-z0-9-]+)\(([0-9a-f-]+)\)/g)) {
        podLogDirs.add(`${namespace}_${pod}_${uid}`);
      }
    }
    for (const controller of cgroupControllers())
      removeCgroupTree(join('/sys/fs/cgroup', controller, cgroupRoot));
    for (const logDir of podLogDirs) rmSync(join('/var/log/pods', logDir), { recursive: true, force: true });
    for (const link of existsSync('/var/log/containers') ? readdirSync('/var/log/containers') : []) {
      const path = join('/var/log/containers', link);
      if (!existsSync(path)) rmSync(path, { force: true }); // a link into a folder removed above
    }
    for (const [key, value] of tunables) {
      try {
        if (readFileSync(`/proc/sys/${key}`, 'utf8').trim() !== value)
          writeFileSync(`/proc/sys/${key}`, value);
      } catch {
        // not writable here: left as the kubelet set it
      }
    }
  };

  try {
    mkdirSync(join(dir, 'cni'), { recursive: true });
    chmodSync(dir, 0o700);
    subnet = await freeSubnet();
    const gateway = subnet.replace(/0\/24$/, '1');

    // The bridge first, so the kubelet can serve on its address before any pod exists.
    await run('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
    await run('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge]);
    await run('ip', ['link', 'set', bridge, 'up']);
    writeFileSync(
      join(dir, 'cni', '10-berth.conflist'),
      cniConfig(`berth-${id}`, bridge, subnet, join(dir, 'cni-ipam')),
    );

    const registryPort = await freeLoopbackPort();
    const registry = `127.0.0.1:${registryPort}`;
    const auth = options.registryAuth;
    if (auth !== undefined) {
      writeFileSync(join(dir, 'htpasswd'), await htpasswdLine(auth.username, auth.password), { mode: 0o600 });
    }
    writeFileSync(
      join(dir, 'registry.yml'),
      [
        'version: 0.1',
        'log: {level: warn}',
        'storage:',
        `  filesystem: {rootdirectory: ${join(dir, 'registry')}}`,
        '  delete: {enabled: true}',
        'http:',
        `  addr: ${registry}`,
        ...(auth === undefined
          ? []
          : ['auth:', '  htpasswd:', '    realm: berth-test', `    path: ${join(dir, 'htpasswd')}`]),
        '',
      ].join('\n'),
    );
    const registryProcess = start('registry', registryPath, ['serve', join(dir, 'registry.yml')], dir);
    processes.push(registryProcess);
    await waitFor(
      'docker-registry',
      registryProcess,
      // With credentials asked, the API root answers 401 to a request without them.
      async () => (await fetch(`http://${registry}/v2/`)).status === (auth === undefined ? 200 : 401),
      30_000,
    );

    const pauseImage = `docker.io/library/${pauseTag}`;
    writeFileSync(join(dir, 'containerd.toml'), containerdConfig(dir, socket, registry, pauseImage));
    const containerd = start('containerd', containerdPath, ['--config', join(dir, 'containerd.toml')], dir);
    processes.push(containerd);
    await waitFor(
      'containerd',
      containerd,
      async () => (await run(ctrPath, ['--address', socket, 'version'])).stdout.includes('Server'),
      60_000,
    );
    await importPause(socket, dir);

    for (const controller of cgroupControllers()) {
      mkdirSync(join('/sys/fs/cgroup', controller, cgroupRoot), { recursive: true });
    }
    const kubeletPort = await freeLoopbackPort();
    writeFileSync(join(dir, 'kubelet.yaml'), kubeletConfig(gateway, kubeletPort, cgroupRoot));
    const kubelet = start(
      'kubelet',
      join(kubeBinDir, 'kubelet'),
      [
        `--config=${join(dir, 'kubelet.yaml')}`,
        `--kubeconfig=${context.kubeconfig}`,
        `--root-dir=${join(dir, 'kubelet')}`,
        `--cert-dir=${join(dir, 'kubelet-pki')}`,
        '--container-runtime=remote',
        `--container-runtime-endpoint=unix://${socket}`,
        `--pod-infra-container-image=${pauseImage}`,
        `--hostname-override=${name}`,
        `--node-ip=${gateway}`,
        // v2: the kubelet logs every pod it is given (SyncLoop ADD), whose log folders stop() removes.
        '--v=2',
      ],
      dir,
    );
    processes.push(kubelet);
    await waitFor(
      `node ${name} Ready`,
      kubelet,
      async () => {
        const { body } = await apiGet(context, `/api/v1/nodes/${name}`);
        const conditions = (body as { status?: { conditions?: { type: string; status: string }[] } }).status
          ?.conditions;
        return conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      },
      120_000,
    );
    return {
      name,
      bridge,
      subnet,
      registry,
      async images() {
        return (await ctr('images', 'ls', '-q')).split('\n').filter(Boolean);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
