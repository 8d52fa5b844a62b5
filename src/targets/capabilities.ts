/**
 * The table berth is built from (ARCHITECTURE.md): one row per compute target. The advisor, the
 * deploy-time checks and `berth target list` all read this table, so the guidance, the checks and
 * the docs never disagree. A new target adds a row here; the type makes a missing row an error.
 *
 * A row says only what the code does: `work` marks each kind of work `ready` (berth runs it there
 * today, and the registry provides it: test/targets/table.test.ts holds the two together),
 * `planned` or `no`; a limit or a capability of a planned target is its design, shown as planned.
 */
import type { TargetCapabilities, TargetKind, WorkKind, WorkSupport } from './target.js';

const GB = 1024 * 1024 * 1024;

type RowInput = Omit<TargetCapabilities, 'realtime' | 'batch' | 'implemented'>;

/** Derives the summary flags from `work`, so they can never disagree with it. */
function row(input: RowInput): Readonly<TargetCapabilities> {
  const support = Object.values(input.work);
  return {
    ...input,
    realtime: input.work.realtime !== 'no',
    batch: input.work.batch !== 'no',
    implemented: support.includes('ready'),
  };
}

export const targetCapabilities: Readonly<Record<TargetKind, Readonly<TargetCapabilities>>> = {
  local: row({
    work: { realtime: 'ready', batch: 'ready', jobs: 'ready' },
    eventDriven: false,
    gpu: 'host',
    autoscale: true,
    maxModelBytes: undefined,
    maxMemoryBytes: undefined,
    enforcesResources: false,
    offline: false,
    usedFor: 'test and debug',
    engine: 'child processes on this machine (batch: worker processes)',
    stages: ['dev', 'test'],
  }),
  ssh: row({
    work: { realtime: 'ready', batch: 'ready', jobs: 'ready' },
    eventDriven: false,
    gpu: 'host',
    autoscale: true,
    maxModelBytes: undefined,
    maxMemoryBytes: undefined,
    enforcesResources: false,
    offline: false,
    usedFor: 'test on an attached machine',
    engine:
      'the same scoring server on a machine over SSH (OpenSSH client, port forwards); limits by systemd-run --user scopes where the machine has them, else the server memory watchdog',
    stages: ['dev', 'test'],
  }),
  container: row({
    work: { realtime: 'ready', batch: 'no', jobs: 'ready' },
    eventDriven: false,
    gpu: false,
    autoscale: true,
    maxModelBytes: 1 * GB,
    maxMemoryBytes: 48 * GB,
    enforcesResources: true,
    offline: false,
    usedFor: 'test / dev, small CPU services',
    engine: 'Docker Engine API (dockerode)',
    stages: ['test', 'dev'],
  }),
  kubernetes: row({
    work: { realtime: 'ready', batch: 'ready', jobs: 'planned' },
    eventDriven: false,
    gpu: true,
    autoscale: true,
    maxModelBytes: undefined,
    maxMemoryBytes: undefined,
    enforcesResources: true,
    offline: false,
    usedFor: 'production real-time',
    engine: 'Kubernetes: Deployment, Service, HPA; Jobs for batch',
    stages: ['production'],
  }),
  cluster: row({
    work: { realtime: 'no', batch: 'ready', jobs: 'ready' },
    eventDriven: false,
    gpu: true,
    // Workers are started by hand (`berth worker`): nothing adds or removes them with the load.
    autoscale: false,
    maxModelBytes: undefined,
    maxMemoryBytes: undefined,
    // A batch deployment has no cpu or memory settings; a worker uses what its machine has.
    enforcesResources: false,
    offline: false,
    usedFor: 'batch inference, training jobs',
    engine: 'Redis + BullMQ workers (berth worker), batch and command jobs',
    stages: ['production', 'test'],
  }),
  function: row({
    work: { realtime: 'ready', batch: 'no', jobs: 'no' },
    eventDriven: true,
    gpu: false,
    // Instances start with the requests and stop when idle (the local host; a platform likewise).
    autoscale: true,
    maxModelBytes: undefined,
    maxMemoryBytes: undefined,
    // The local host runs instances as plain processes; sizing them is the platform's setting.
    enforcesResources: false,
    offline: false,
    usedFor: 'event-driven real-time',
    engine: 'function packages (fetch, AWS Lambda, Azure Functions handlers) run by a local function host',
    stages: ['production', 'test'],
  }),
  edge: row({
    work: { realtime: 'ready', batch: 'no', jobs: 'no' },
    eventDriven: false,
    gpu: 'host',
    autoscale: false,
    maxModelBytes: undefined,
    maxMemoryBytes: undefined,
    enforcesResources: false,
    offline: true,
    usedFor: 'on-device inference, offline',
    engine: 'berth edge agent on each device; desired state and bundles over MQTT (any broker)',
    stages: ['production'],
  }),
};

/** How `kind` serves `work` today. */
export function workSupport(kind: TargetKind, work: WorkKind): WorkSupport {
  return targetCapabilities[kind].work[work];
}

/** `1.5 GB`, `512 MB`: sizes in messages. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const text = unit === 0 ? String(value) : value.toFixed(value >= 10 ? 0 : 1).replace(/\.0$/, '');
  return `${text} ${units[unit]}`;
}
