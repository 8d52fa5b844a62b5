import type { Command } from 'commander';
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
  handler?: string;
  maxInstances?: number;
  idleTimeoutMs?: number;
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
  handler: { flag: '--handler', kind: 'function' },
  maxInstances: { flag: '--max-instances', kind: 'function' },
  idleTimeoutMs: { flag: '--idle-timeout-ms', kind: 'function' },
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
  return settings;
}

function howToUse(record: TargetRecord): string {
  if (record.kind === 'cluster') {
    return `run batch jobs on it with compute: ${record.name} (or --target ${record.name}); workers join with berth worker --target ${record.name}`;
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
    .option('--json', 'print the recommendation as JSON')
    .action(
      (options: {
        realtime?: boolean;
        batch?: boolean;
        gpu?: boolean;
        modelSize?: number;
        memory?: number;
        rps?: number;
        offline?: boolean;
        stage?: string;
        json?: boolean;
      }) => {
        if (options.realtime && options.batch)
          throw new BerthError('BAD_INPUT', 'give --realtime or --batch, not both');
        const stage = options.stage;
        if (stage !== undefined && stage !== 'dev' && stage !== 'test' && stage !== 'production') {
          throw new BerthError('BAD_INPUT', `--stage must be dev, test or production, not ${stage}`);
        }
        const advice = recommend({
          mode: options.batch ? 'batch' : 'realtime',
          gpu: options.gpu === true,
          modelBytes: options.modelSize,
          memoryBytes: options.memory,
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
