import type { Command } from 'commander';
import { resolve as resolvePath } from 'node:path';
import { BerthError, hasErrorCode } from '../../core/errors.js';
import { parseMemory } from '../../core/specs/index.js';
import {
  formatBytes,
  inspectSshTarget,
  listTargets,
  recommend,
  showTarget,
  type MachineReport,
  type TargetRow,
} from '../../sdk/targets.js';
import { redactSettings } from '../../sdk/named-targets.js';
import type { MeasuredSizing } from '../../targets/advisor.js';
import { targetKinds, type WorkSupport } from '../../targets/target.js';
import type { TargetRecord } from '../../workspace/index.js';
import type { CliContext } from '../context.js';
import { printJson, printTable } from '../output.js';

/** KB, MB, GB and TB count in powers of 1024 here, as the capabilities table does; 2G/2Gi keep their Kubernetes meaning. */
const binaryUnits: Record<string, number> = { KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

function size(flag: string) {
  return (value: string): number => {
    const binary = /^([0-9]+(?:\.[0-9]+)?)\s*(KB|MB|GB|TB)$/i.exec(value.trim());
    const unit = binary ? binaryUnits[(binary[2] ?? '').toUpperCase()] : undefined;
    const bytes = binary && unit !== undefined ? Math.round(Number(binary[1]) * unit) : parseMemory(value);
    if (bytes === undefined)
      throw new BerthError('BAD_INPUT', `${flag}: expected a size such as 2GB or 512MB, not ${value}`);
    return bytes;
  };
}

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 65_535)
    throw new BerthError('BAD_INPUT', `--port must be a port number (1-65535), not ${value}`);
  return parsed;
}

function positive(value: string): number {
  const parsed = Number(value);
  if (!(parsed > 0)) throw new BerthError('BAD_INPUT', `--rps must be a positive number, not ${value}`);
  return parsed;
}

function wholeNumber(flag: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed <= 0)
      throw new BerthError('BAD_INPUT', `${flag} must be a positive whole number, not ${value}`);
    return parsed;
  };
}

/** `1,25%` → [1, '25%']: each a whole number of devices or a percentage (the target's schema checks the range). */
function waveSizes(value: string): (number | string)[] {
  return value.split(',').map((part) => {
    const size = part.trim();
    if (/^\d+$/.test(size)) return Number(size);
    if (/^\d+(\.\d+)?%$/.test(size)) return size;
    throw new BerthError(
      'BAD_INPUT',
      `--rollout-waves: expected sizes such as 1,25% (devices or percentages), not ${JSON.stringify(size)}`,
    );
  });
}

function limit(bytes: number | undefined): string {
  return bytes === undefined ? '-' : formatBytes(bytes);
}

interface CreateFlags {
  type: string;
  dockerHost?: string;
  baseImage?: string;
  publishHost?: string;
  redis?: string;
  queuePrefix?: string;
  host?: string;
  user?: string;
  port?: number;
  identity?: string;
  knownHosts?: string;
  workdir?: string;
  node?: string;
  python?: string;
  handler?: string;
  maxInstances?: number;
  idleTimeoutMs?: number;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  registry?: string;
  imagePullSecret?: string;
  batchRedis?: string;
  batchRedisInCluster?: string;
  batchQueuePrefix?: string;
  batchImage?: string;
  batchVolume?: string;
  kserve?: boolean;
  gateway?: string;
  gatewayReplicas?: number;
  broker?: string;
  deviceGroup?: string;
  caFile?: string;
  topicPrefix?: string;
  rolloutWaves?: (number | string)[];
  rolloutBakeMs?: number;
  rolloutTimeoutMs?: number;
  json?: boolean;
}

/** Which kind each setting flag belongs to: a flag given for another kind is refused, never dropped. */
const settingFlags = {
  dockerHost: { flag: '--docker-host', kind: 'container' },
  baseImage: { flag: '--base-image', kind: 'container' },
  publishHost: { flag: '--publish-host', kind: 'container' },
  redis: { flag: '--redis', kind: 'cluster' },
  queuePrefix: { flag: '--queue-prefix', kind: 'cluster' },
  host: { flag: '--host', kind: 'ssh' },
  user: { flag: '--user', kind: 'ssh' },
  port: { flag: '--port', kind: 'ssh' },
  identity: { flag: '--identity', kind: 'ssh' },
  knownHosts: { flag: '--known-hosts', kind: 'ssh' },
  workdir: { flag: '--workdir', kind: 'ssh' },
  node: { flag: '--node', kind: 'ssh', setting: 'nodePath' },
  python: { flag: '--python', kind: 'ssh', setting: 'pythonPath' },
  handler: { flag: '--handler', kind: 'function' },
  maxInstances: { flag: '--max-instances', kind: 'function' },
  idleTimeoutMs: { flag: '--idle-timeout-ms', kind: 'function' },
  kubeconfig: { flag: '--kubeconfig', kind: 'kubernetes' },
  context: { flag: '--context', kind: 'kubernetes' },
  namespace: { flag: '--namespace', kind: 'kubernetes' },
  registry: { flag: '--registry', kind: 'kubernetes' },
  imagePullSecret: { flag: '--image-pull-secret', kind: 'kubernetes' },
  batchRedis: { flag: '--batch-redis', kind: 'kubernetes' },
  batchRedisInCluster: { flag: '--batch-redis-in-cluster', kind: 'kubernetes' },
  batchQueuePrefix: { flag: '--batch-queue-prefix', kind: 'kubernetes' },
  batchImage: { flag: '--batch-image', kind: 'kubernetes' },
  batchVolume: { flag: '--batch-volume', kind: 'kubernetes' },
  kserve: { flag: '--kserve', kind: 'kubernetes' },
  gateway: { flag: '--gateway', kind: 'kubernetes' },
  gatewayReplicas: { flag: '--gateway-replicas', kind: 'kubernetes' },
  broker: { flag: '--broker', kind: 'edge' },
  deviceGroup: { flag: '--device-group', kind: 'edge' },
  caFile: { flag: '--ca-file', kind: 'edge' },
  topicPrefix: { flag: '--topic-prefix', kind: 'edge' },
  rolloutWaves: { flag: '--rollout-waves', kind: 'edge' },
  rolloutBakeMs: { flag: '--rollout-bake-ms', kind: 'edge' },
  rolloutTimeoutMs: { flag: '--rollout-timeout-ms', kind: 'edge' },
} as const satisfies Record<string, { flag: string; kind: string; setting?: string }>;

function settingsFor(options: CreateFlags): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(settingFlags)) {
    const value = options[key as keyof typeof settingFlags];
    if (value === undefined) continue;
    if (options.type !== entry.kind) {
      throw new BerthError(
        'BAD_INPUT',
        `${entry.flag} applies to --type ${entry.kind} only, not ${options.type}`,
      );
    }
    settings['setting' in entry ? entry.setting : key] = value;
  }
  if (options.type === 'ssh' && options.host === undefined) {
    throw new BerthError('BAD_INPUT', '--type ssh needs --host HOST: the machine to reach over SSH');
  }
  if (options.type === 'cluster' && options.redis === undefined) {
    throw new BerthError(
      'BAD_INPUT',
      '--type cluster needs --redis redis://host:port[/db]: the Redis its queue lives on',
    );
  }
  if (options.type === 'edge' && options.broker === undefined) {
    throw new BerthError(
      'BAD_INPUT',
      '--type edge needs --broker mqtt://host:port (or mqtts://): the MQTT broker its devices use',
    );
  }
  return nestRollout(settings);
}

/** The edge target's `--rollout-*` flags are its `rollout` setting; bake and timeout need waves. */
function nestRollout(settings: Record<string, unknown>): Record<string, unknown> {
  const { rolloutWaves: waves, rolloutBakeMs: bakeMs, rolloutTimeoutMs: reportTimeoutMs, ...rest } = settings;
  if (waves === undefined) {
    if (bakeMs !== undefined || reportTimeoutMs !== undefined)
      throw new BerthError('BAD_INPUT', '--rollout-bake-ms and --rollout-timeout-ms need --rollout-waves');
    return rest;
  }
  return {
    ...rest,
    rollout: {
      waves,
      ...(bakeMs === undefined ? {} : { bakeMs }),
      ...(reportTimeoutMs === undefined ? {} : { reportTimeoutMs }),
    },
  };
}

function howToUse(record: TargetRecord): string {
  if (record.kind === 'cluster') {
    return `run batch jobs on it with compute: ${record.name} (or --target ${record.name}); workers join with berth worker --target ${record.name}`;
  }
  if (record.kind === 'edge') {
    return `deploy to it with target: ${record.name}; devices join with berth edge agent --broker … --device-id ID, and berth edge status ${record.name} shows them`;
  }
  return `deploy to it with target: ${record.name}`;
}

/** A named target for listings: a password in a Redis address never leaves the workspace. */
function redactedRecord(record: TargetRecord): TargetRecord {
  return { ...record, config: redactSettings(record.config) };
}

function work(support: WorkSupport): string {
  return support === 'no' ? '-' : support;
}

function describeRow(row: TargetRow): string {
  return [
    `${row.kind}${row.implemented ? '' : '  (planned: not built yet)'}`,
    `  used for:   ${row.usedFor}`,
    `  engine:     ${row.engine}`,
    `  real-time:  ${work(row.work.realtime)}${row.eventDriven ? ' (event-driven)' : ''}`,
    `  batch:      ${work(row.work.batch)}`,
    `  jobs:       ${work(row.work.jobs)}`,
    `  GPU:        ${row.gpu === 'host' ? "the host's" : row.gpu ? 'yes' : 'no'}`,
    `  autoscale:  ${row.autoscale ? 'yes' : 'no'}`,
    `  max model:  ${limit(row.maxModelBytes)}`,
    `  max memory: ${limit(row.maxMemoryBytes)}`,
    `  limits:     ${row.enforcesResources ? 'enforced' : 'not enforced'}`,
    `  offline:    ${row.offline ? 'yes' : 'no'}`,
    `  stages:     ${row.stages.join(', ')}`,
  ].join('\n');
}

function describeMachine(report: MachineReport): string {
  if (!report.reachable) return `  machine:    not reachable: ${report.error ?? 'no answer'}`;
  const facts = report.facts;
  const lines = [
    '  machine:    reachable',
    `  os:         ${facts?.os ?? '?'} ${facts?.arch ?? ''}`,
    `  cores:      ${facts?.cores ?? '?'}`,
    `  memory:     ${limit(facts?.memoryBytes)}`,
    `  node:       ${facts?.node ?? 'not found'}`,
    `  gpus:       ${facts === undefined || facts.gpus.length === 0 ? 'none found (no nvidia-smi)' : facts.gpus.join(', ')}`,
    `  workdir:    ${facts?.workdir ?? '?'} (${limit(facts?.freeBytes)} free)`,
    `  limits:     ${facts?.userScopes === true ? 'cgroups (systemd-run --user --scope)' : "the scoring server's own memory limit (no systemd user scopes)"}`,
  ];
  lines.push(
    report.missing.length === 0 ? '  ready:      yes' : `  ready:      no: ${report.missing.join('; ')}`,
  );
  return lines.join('\n');
}

export function registerTargetCommands(program: Command, context: CliContext): void {
  const target = program
    .command('target')
    .description(
      'the compute targets: what each runs today (real-time, batch, jobs) and what is planned, advice, and named targets',
    );

  target
    .command('list')
    .description(
      'the capabilities table (one row per kind: ready or planned per kind of work), then the targets this workspace names',
    )
    .option('--json', 'print the table as JSON (named targets follow the kinds, with name and settings)')
    .action(async (options: { json?: boolean }) => {
      const rows = listTargets();
      const named = await namedTargets(context);
      if (options.json) {
        printJson(context.io, [
          ...rows,
          ...named.map((record) => ({
            ...rows.find((row) => row.kind === record.kind),
            kind: record.kind,
            name: record.name,
            settings: redactSettings(record.config),
          })),
        ]);
        return;
      }
      printTable(
        context.io,
        ['KIND', 'USED FOR', 'REAL-TIME', 'BATCH', 'JOBS', 'GPU', 'AUTOSCALE', 'MAX MODEL', 'STATUS'],
        rows.map((row) => [
          row.kind,
          row.usedFor,
          work(row.work.realtime),
          work(row.work.batch),
          work(row.work.jobs),
          row.gpu === 'host' ? 'host' : row.gpu ? 'yes' : 'no',
          row.autoscale ? 'yes' : 'no',
          limit(row.maxModelBytes),
          row.implemented ? 'ready' : 'planned',
        ]),
      );
      context.io.stdout.write(
        '\nready: berth runs that work on the target today; planned: designed, not built yet (see README).\n',
      );
      if (named.length === 0) return;
      context.io.stdout.write('\nnamed targets (berth target create):\n');
      printTable(
        context.io,
        ['NAME', 'KIND', 'SETTINGS'],
        named.map((record) => [
          record.name,
          record.kind,
          Object.entries(redactSettings(record.config))
            .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
            .join(' '),
        ]),
      );
    });

  target
    .command('create')
    .description(
      'name a target with its settings: deployments use it with target: NAME, batch jobs with compute: NAME',
    )
    .argument('<name>', 'the name deployments and batch files use, e.g. dev-docker or batch-cluster')
    .requiredOption('--type <kind>', 'the target kind: ssh, container, cluster, …')
    .option(
      '--docker-host <url>',
      'container: the Docker Engine (unix:///var/run/docker.sock, tcp://host:2375); default $DOCKER_HOST',
    )
    .option(
      '--base-image <image>',
      'container: the image the scoring server runs on (default node:20-bookworm-slim)',
    )
    .option('--publish-host <ip>', 'container: the host interface ports are published on (default 127.0.0.1)')
    .option(
      '--redis <url>',
      'cluster (required): the Redis its queue lives on, redis://[user:password@]host:port[/db]',
    )
    .option(
      '--queue-prefix <prefix>',
      'cluster: prefix of its Redis keys; its workers join with berth worker --target NAME (default berth)',
    )
    .option('--host <host>', 'ssh (required): the machine, checked against --known-hosts')
    .option('--user <user>', "ssh: the remote user (default: the ssh client's)")
    .option('--port <port>', 'ssh: the sshd port (default 22)', port)
    .option('--identity <file>', 'ssh: a private key file (default: the ssh agent and default keys)')
    .option(
      '--known-hosts <file>',
      'ssh: the known_hosts file the host key must be in (default ~/.ssh/known_hosts)',
    )
    .option('--workdir <dir>', 'ssh: the folder berth works in on the machine (default .berth-remote)')
    .option('--node <path>', 'ssh: the Node.js (20.10+) on the machine (default node)')
    .option(
      '--python <path>',
      'ssh: the Python for .py scoring scripts on the machine (default /usr/bin/python3)',
    )
    .option(
      '--handler <kind>',
      'function: the handler the local host runs: fetch, aws-lambda, azure-functions (default fetch)',
    )
    .option(
      '--max-instances <n>',
      'function: instances at most, one per concurrent request (default 4)',
      wholeNumber('--max-instances'),
    )
    .option(
      '--idle-timeout-ms <ms>',
      'function: an instance idle this long is stopped, down to none (default 60000)',
      wholeNumber('--idle-timeout-ms'),
    )
    .option(
      '--kubeconfig <file>',
      'kubernetes: the kubeconfig (default: $KUBECONFIG when used, else ~/.kube/config)',
    )
    .option('--context <name>', "kubernetes: the kubeconfig context (default: the file's current context)")
    .option('--namespace <ns>', "kubernetes: the namespace (default: the context's, else default)")
    .option(
      '--registry <repo>',
      'kubernetes: where images are pushed and pulled, e.g. registry.example.com/ml',
    )
    .option('--image-pull-secret <name>', 'kubernetes: the Secret pods pull images with (dockerconfigjson)')
    .option(
      '--batch-redis <url>',
      'kubernetes: the Redis its batch workers share, as this machine reaches it (redis://host:port[/db]); needed for batch jobs',
    )
    .option(
      '--batch-redis-in-cluster <url>',
      'kubernetes: the same Redis as the pods reach it (default: --batch-redis)',
    )
    .option(
      '--batch-queue-prefix <prefix>',
      "kubernetes: prefix of its batch jobs' Redis keys (default berth)",
    )
    .option(
      '--batch-image <image>',
      'kubernetes: the image whose berth runs the batch workers (default: berth builds <registry>/berth-worker:<key> and pushes it)',
    )
    .option(
      '--batch-volume <path[=claim]>',
      "kubernetes: inputs and outputs at PATH in the worker pods, from a PersistentVolumeClaim (else the node's PATH)",
    )
    .option('--kserve', 'kubernetes: deployments become a KServe InferenceService (v1beta1)')
    .option(
      '--gateway <where>',
      "kubernetes: where endpoints' traffic split and mirror run: server (berth server's gateway, default) or in-cluster (a gateway Deployment per endpoint in the namespace)",
    )
    .option(
      '--gateway-replicas <n>',
      'kubernetes: gateway pods per endpoint with --gateway in-cluster (default 2)',
      wholeNumber('--gateway-replicas'),
    )
    .option(
      '--broker <url>',
      'edge (required): the MQTT broker of the devices, mqtt://host:port or mqtts://host:port',
    )
    .option(
      '--device-group <group>',
      'edge: the device group its deployments are desired for (default default)',
    )
    .option(
      '--ca-file <file>',
      "edge: PEM CA that signed an mqtts broker's certificate (default: the system's)",
      (value: string) => resolvePath(value),
    )
    .option('--topic-prefix <prefix>', 'edge: first level of its MQTT topics (default berth)')
    .option(
      '--rollout-waves <sizes>',
      'edge: roll new versions out in waves with automatic rollback; the size of each wave before the last (the rest), devices or a percentage, e.g. 1,25% (default: no waves)',
      waveSizes,
    )
    .option(
      '--rollout-bake-ms <ms>',
      'edge: a wave must stay running and healthy this long before the next one goes (default 30000)',
      (value: string) => {
        const parsed = Number(value);
        if (!Number.isInteger(parsed) || parsed < 0)
          throw new BerthError(
            'BAD_INPUT',
            `--rollout-bake-ms must be a whole number of at least 0, not ${value}`,
          );
        return parsed;
      },
    )
    .option(
      '--rollout-timeout-ms <ms>',
      'edge: each device of a wave must report the new version running within this long, or the group rolls back (default 300000)',
      wholeNumber('--rollout-timeout-ms'),
    )
    .option('--json', 'print the recorded target as JSON')
    .action(async (name: string, options: CreateFlags) => {
      const settings = settingsFor(options);
      const workspace = await context.openWorkspace();
      try {
        const record = await workspace.targets.create({ name, kind: options.type, settings });
        if (options.json) printJson(context.io, redactedRecord(record));
        else context.io.stdout.write(`target ${record.name} (${record.kind}) created: ${howToUse(record)}\n`);
      } finally {
        await workspace.close();
      }
    });

  target
    .command('delete')
    .description('forget a named target (refused while endpoints or deployments use it)')
    .argument('<name>')
    .action(async (name: string) => {
      const workspace = await context.openWorkspace();
      try {
        await workspace.targets.delete(name);
        context.io.stdout.write(`target ${name} deleted\n`);
      } finally {
        await workspace.close();
      }
    });

  target
    .command('show')
    .description(
      'one row of the capabilities table; for a named ssh target, also whether its machine answers and what it is',
    )
    .argument(
      '<kind-or-name>',
      'local, ssh, container, kubernetes, cluster, function or edge, or a named target',
    )
    .option('--json', 'print the row as JSON')
    .action(async (kind: string, options: { json?: boolean }) => {
      if ((targetKinds as readonly string[]).includes(kind)) {
        const row = showTarget(kind);
        if (options.json) printJson(context.io, row);
        else context.io.stdout.write(`${describeRow(row)}\n`);
        return;
      }
      const workspace = await context.openWorkspace();
      let record: TargetRecord;
      try {
        record = await workspace.targets.get(kind);
      } finally {
        await workspace.close();
      }
      const row = showTarget(record.kind);
      const machine = record.kind === 'ssh' ? await inspectSshTarget(record.config) : undefined;
      if (options.json) {
        printJson(context.io, {
          ...row,
          name: record.name,
          settings: redactSettings(record.config),
          machine,
        });
        return;
      }
      context.io.stdout.write(`${record.name}: ${describeRow(row)}\n`);
      if (machine !== undefined) context.io.stdout.write(`${describeMachine(machine)}\n`);
    });

  target
    .command('recommend')
    .description(
      'which target that works today fits a workload (planned ones listed as such), and how to size it',
    )
    .option('--realtime', 'real-time requests (default)')
    .option('--batch', 'batch inference over a data set')
    .option('--gpu', 'the model needs a GPU')
    .option('--model-size <size>', "size of the model's files, e.g. 2GB", size('--model-size'))
    .option('--memory <size>', 'memory the loaded model needs, e.g. 8GB', size('--memory'))
    .option('--rps <n>', 'expected requests per second', positive)
    .option('--offline', 'must keep serving with no link to the cloud')
    .option('--stage <stage>', 'dev, test or production (default production)')
    .option(
      '--model <model>',
      'NAME or NAME:VERSION of a registered model: its size, and what berth profile measured for it, size the advice',
    )
    .option('--json', 'print the recommendation as JSON')
    .action(
      async (options: {
        realtime?: boolean;
        batch?: boolean;
        gpu?: boolean;
        modelSize?: number;
        memory?: number;
        rps?: number;
        offline?: boolean;
        stage?: string;
        model?: string;
        json?: boolean;
      }) => {
        if (options.realtime && options.batch)
          throw new BerthError('BAD_INPUT', 'give --realtime or --batch, not both');
        const stage = options.stage;
        if (stage !== undefined && stage !== 'dev' && stage !== 'test' && stage !== 'production') {
          throw new BerthError('BAD_INPUT', `--stage must be dev, test or production, not ${stage}`);
        }
        const model = options.model === undefined ? undefined : await modelFacts(context, options.model);
        const advice = recommend({
          mode: options.batch ? 'batch' : 'realtime',
          gpu: options.gpu === true,
          modelBytes: options.modelSize ?? model?.sizeBytes,
          memoryBytes: options.memory,
          ...(model?.measured === undefined ? {} : { measured: model.measured }),
          requestsPerSecond: options.rps,
          offline: options.offline === true,
          stage,
        });
        if (options.json) {
          printJson(context.io, advice);
          return;
        }
        const lines = [`recommended: ${advice.target}`, `  ${advice.reason}`];
        if (advice.alternatives.length > 0)
          lines.push('alternatives:', ...advice.alternatives.map((a) => `  ${a.target}: ${a.reason}`));
        if (advice.planned.length > 0)
          lines.push('planned (not built yet):', ...advice.planned.map((p) => `  ${p.target}: ${p.reason}`));
        if (advice.ruledOut.length > 0)
          lines.push('ruled out:', ...advice.ruledOut.map((r) => `  ${r.reason}`));
        lines.push('sizing:', ...advice.sizing.advice.map((line) => `  - ${line}`));
        context.io.stdout.write(`${lines.join('\n')}\n`);
      },
    );
}

/** A registered model's size and, when it was profiled, what was measured. */
async function modelFacts(
  context: CliContext,
  reference: string,
): Promise<{ sizeBytes: number; measured: MeasuredSizing | undefined }> {
  const workspace = await context.openWorkspace();
  try {
    const model = await workspace.models.get(reference);
    const ref = `${model.name}:${model.version}`;
    const profile = await workspace.models.profile(ref);
    return {
      sizeBytes: model.artifact.size,
      measured:
        profile === undefined
          ? undefined
          : {
              source: `berth profile of ${ref} on ${profile.measuredAt.slice(0, 10)} (${profile.target}, ${profile.machineCores} cores)`,
              peakRssBytes: profile.peakRssBytes,
              memoryBytes: profile.recommendation.memoryBytes,
              cpu: profile.recommendation.cpu,
              maxSustainedRps: profile.maxSustainedRps,
              maxConcurrentRequestsPerInstance: profile.recommendation.maxConcurrentRequestsPerInstance,
              maxBatchSize: profile.recommendation.maxBatchSize,
            },
    };
  } finally {
    await workspace.close();
  }
}

/** The workspace's named targets; none when there is no workspace (the table needs none). */
async function namedTargets(context: CliContext): Promise<TargetRecord[]> {
  let workspace;
  try {
    workspace = await context.openWorkspace();
  } catch (error) {
    if (hasErrorCode(error, 'WORKSPACE_MISSING')) return [];
    throw error;
  }
  try {
    return await workspace.targets.list();
  } finally {
    await workspace.close();
  }
}
