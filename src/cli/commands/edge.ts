import type { Command } from 'commander';
import { resolve } from 'node:path';
import { BerthError } from '../../core/errors.js';
import { EdgeAgent } from '../../edge/index.js';
import {
  createEdgeTarget,
  deviceIdSchema,
  topicLevelSchema,
  topicPrefixSchema,
  type FleetView,
} from '../../targets/edge/index.js';
import type { CliContext } from '../context.js';
import { printJson, printTable } from '../output.js';

interface AgentFlags {
  broker: string;
  deviceId: string;
  cache: string;
  group: string;
  topicPrefix: string;
  caFile?: string;
  host: string;
  port: string;
  startTimeoutMs: string;
  stallMs: string;
  maxMessageBytes: string;
}

function checked(value: string, flag: string, schema: typeof topicLevelSchema): string {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new BerthError('BAD_INPUT', `${flag}: ${parsed.error.issues[0]?.message ?? 'invalid'} (${value})`);
  return parsed.data;
}

function whole(value: string, flag: string, min = 1): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > (flag === '--port' ? 65_535 : Infinity))
    throw new BerthError('BAD_INPUT', `${flag} must be a whole number of at least ${min}, not ${value}`);
  return parsed;
}

function ago(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return seconds < 120 ? `${seconds}s ago` : `${Math.round(seconds / 60)}m ago`;
}

function printFleet(context: CliContext, name: string, view: FleetView): void {
  const desired = view.desired;
  const wanted =
    desired === undefined
      ? 'nothing published yet'
      : desired.deployment === null
        ? `version ${desired.version}: run nothing`
        : `version ${desired.version}: ${desired.deployment.endpoint}/${desired.deployment.deployment} (model ${desired.deployment.model.name}:${desired.deployment.model.version})`;
  context.io.stdout.write(`target ${name}, device group ${view.group}: desired ${wanted}\n`);
  const rollout = view.rollout;
  if (rollout !== undefined) {
    const waves = rollout.waves.map((wave) => wave.join(', ')).join(' | ');
    const at = rollout.state === 'rolling' ? `, wave ${rollout.wave + 1} of ${rollout.waves.length}` : '';
    context.io.stdout.write(
      `rollout of version ${rollout.desired.version}: ${rollout.state}${at} (waves ${waves})${rollout.reason === null ? '' : `: ${rollout.reason}`}\n`,
    );
  }
  if (view.devices.length === 0) {
    context.io.stdout.write('no device has reported (berth edge agent --broker … --device-id ID)\n');
    return;
  }
  printTable(
    context.io,
    ['DEVICE', 'STATE', 'DESIRED', 'RUNNING', 'MODEL', 'LINK', 'LAST SEEN', 'SCORED', 'LAST ERROR'],
    view.devices.map(({ device, online, twin }) => [
      device,
      twin.state,
      twin.desiredVersion === null ? '-' : String(twin.desiredVersion),
      twin.runningVersion === null ? '-' : String(twin.runningVersion),
      twin.deployment === null ? '-' : `${twin.deployment.model.name}:${twin.deployment.model.version}`,
      online === undefined ? '?' : online ? 'online' : 'offline',
      ago(twin.reportedAt),
      String(twin.counters.scored),
      twin.lastError ?? '-',
    ]),
  );
}

export function registerEdgeCommands(program: Command, context: CliContext): void {
  const edge = program
    .command('edge')
    .description('edge devices: run the device side (agent), and see a device group (status)');

  edge
    .command('agent')
    .description(
      'run on a device: serve the deployment desired for its group from a local cache, score MQTT messages and HTTP requests, report a twin; keeps serving with no broker or control plane',
    )
    .requiredOption('--broker <url>', 'the MQTT broker, mqtt://host:port or mqtts://host:port')
    .requiredOption('--device-id <id>', 'this device, e.g. press-12 (letters, digits, ".", "_", "-")')
    .requiredOption('--cache <dir>', 'where bundles and the last state are kept, e.g. /var/lib/berth-edge')
    .option(
      '--group <group>',
      "the device group whose deployments it runs (a target's --device-group)",
      'default',
    )
    .option(
      '--topic-prefix <prefix>',
      "first level of the MQTT topics (the target's --topic-prefix)",
      'berth',
    )
    .option('--ca-file <file>', "PEM CA that signed an mqtts broker's certificate (default: the system's)")
    .option('--host <ip>', 'interface of the local HTTP scoring API', '127.0.0.1')
    .option('--port <port>', 'port of the local HTTP scoring API (0: any free one, printed)', '0')
    .option('--start-timeout-ms <ms>', 'a new version must be listening within this long', '120000')
    .option('--stall-ms <ms>', 'a bundle fetch with no chunk this long gives up until the next try', '60000')
    .option(
      '--max-message-bytes <n>',
      'largest MQTT scoring message; a larger one, one not JSON, or a retained one gets an error on its out topic',
      '16777216',
    )
    .action(async (flags: AgentFlags) => {
      const write = (line: string): void => void context.io.stderr.write(`${line}\n`);
      const agent = await EdgeAgent.start({
        broker: flags.broker,
        caFile: flags.caFile === undefined ? undefined : resolve(flags.caFile),
        deviceId: checked(flags.deviceId, '--device-id', deviceIdSchema),
        group: checked(flags.group, '--group', topicLevelSchema),
        topicPrefix: checked(flags.topicPrefix, '--topic-prefix', topicPrefixSchema),
        cacheDir: resolve(flags.cache),
        host: flags.host,
        port: whole(flags.port, '--port', 0),
        startTimeoutMs: whole(flags.startTimeoutMs, '--start-timeout-ms'),
        stallMs: whole(flags.stallMs, '--stall-ms'),
        reconnectPeriodMs: 2000,
        requestTimeoutMs: 60_000,
        maxMessageBytes: whole(flags.maxMessageBytes, '--max-message-bytes'),
        log: write,
        event: (event) => void context.io.stdout.write(`${JSON.stringify(event)}\n`),
      });
      await new Promise<void>((done, fail) => {
        let leaving = false;
        const leave = (): void => {
          if (leaving) process.exit(1);
          leaving = true;
          agent.close().then(done, fail);
        };
        process.on('SIGTERM', leave);
        process.on('SIGINT', leave);
      });
    });

  edge
    .command('status')
    .description(
      "per device of an edge target's group: state, desired and running version, model, link, last seen, last error",
    )
    .argument('<target>', 'an edge target (berth target create NAME --type edge --broker …)')
    .option('--json', 'print the desired state and every device twin as JSON')
    .action(async (name: string, options: { json?: boolean }) => {
      const workspace = await context.openWorkspace();
      let record;
      try {
        record = await workspace.targets.get(name);
      } finally {
        await workspace.close();
      }
      if (record.kind !== 'edge')
        throw new BerthError('BAD_INPUT', `target ${name} is a ${record.kind} target, not an edge target`);
      const target = createEdgeTarget({ ...record.config, kind: 'edge', name });
      const view = await target.fleet();
      if (options.json) printJson(context.io, { target: name, ...view });
      else printFleet(context, name, view);
    });
}
