/**
 * The table berth is built from (ARCHITECTURE.md): one row per compute target. The advisor, the
 * deploy-time checks and `berth target list` all read this table, so the guidance, the checks and
 * the docs never disagree. A new target adds a row here; the type makes a missing row an error.
 */
import type { TargetCapabilities, TargetKind } from './target.js';

const GB = 1024 * 1024 * 1024;

export const targetCapabilities: Readonly<Record<TargetKind, Readonly<TargetCapabilities>>> = {
  local: {
    realtime: true,
    eventDriven: false,
    batch: true,
    gpu: 'host',
    autoscale: false,
    maxModelBytes: undefined,
    maxMemoryBytes: undefined,
    enforcesResources: false,
    offline: false,
    usedFor: 'test and debug',
    engine: 'child processes on this machine',
    stages: ['dev', 'test'],
    implemented: true,
  },
  ssh: {
    realtime: true,
    eventDriven: false,
    batch: false,
    gpu: 'host',
    autoscale: false,
    maxModelBytes: undefined,
    maxMemoryBytes: undefined,
    enforcesResources: false,
    offline: false,
    usedFor: 'test on an attached machine',
    engine: 'the same scoring server, started over SSH',
    stages: ['dev', 'test'],
    implemented: false,
  },
  container: {
    realtime: true,
    eventDriven: false,
    batch: false,
    gpu: false,
    autoscale: false,
    maxModelBytes: 1 * GB,
    maxMemoryBytes: 48 * GB,
    enforcesResources: true,
    offline: false,
    usedFor: 'test / dev, small CPU services',
    engine: 'Docker Engine API (dockerode)',
    stages: ['test', 'dev'],
    implemented: true,
  },
  kubernetes: {
    realtime: true,
    eventDriven: false,
    batch: false,
    gpu: true,
    autoscale: true,
    maxModelBytes: undefined,
    maxMemoryBytes: undefined,
    enforcesResources: true,
    offline: false,
    usedFor: 'production real-time',
    engine: 'Kubernetes: Deployment, Service, HPA',
    stages: ['production'],
    implemented: false,
  },
  cluster: {
    realtime: false,
    eventDriven: false,
    batch: true,
    gpu: true,
    autoscale: true,
    maxModelBytes: undefined,
    maxMemoryBytes: undefined,
    enforcesResources: true,
    offline: false,
    usedFor: 'batch inference, training jobs',
    engine: 'Redis + BullMQ workers (berth worker); Kubernetes Jobs later',
    stages: ['production', 'test'],
    implemented: true,
  },
  function: {
    realtime: true,
    eventDriven: true,
    batch: false,
    gpu: false,
    autoscale: true,
    maxModelBytes: undefined,
    maxMemoryBytes: undefined,
    enforcesResources: true,
    offline: false,
    usedFor: 'event-driven real-time',
    engine: 'a function bundle (generic, AWS Lambda, Azure Functions handlers)',
    stages: ['production'],
    implemented: false,
  },
  edge: {
    realtime: true,
    eventDriven: false,
    batch: false,
    gpu: 'host',
    autoscale: false,
    maxModelBytes: undefined,
    maxMemoryBytes: undefined,
    enforcesResources: false,
    offline: true,
    usedFor: 'on-device inference, offline',
    engine: 'MQTT (any broker: Mosquitto, aedes)',
    stages: ['production'],
    implemented: false,
  },
};

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
