/**
 * The edge target: a deployment is published, not started. deploy() builds the edge bundle
 * (bundle.ts), publishes its chunks and then the device group's desired state on the broker, both
 * retained, and returns: devices that are offline pick it up when they come back, and nothing
 * here has to stay up for them to do so. Devices (src/edge, `berth edge agent`) fetch, verify,
 * cache and run it, and report a twin; status() reads those twins back.
 *
 * A group runs one deployment at a time: deploying another one to a group that already has one is
 * a CONFLICT. Deploying the same deployment again (the control plane does after a restart) keeps
 * the desired version when the bundle is unchanged. The adapter holds no connection between calls.
 */
import { rm } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import { BerthError } from '../../core/errors.js';
import { targetCapabilities } from '../capabilities.js';
import { deploymentId } from '../shared/replica-set-target.js';
import type {
  ComputeTarget,
  DeploymentHandle,
  DeploymentStatus,
  LogLine,
  LogOptions,
  Progress,
  ReplicaStatus,
  ResolvedDeployment,
  TargetCapabilities,
} from '../target.js';
import { validateForTarget } from '../validate.js';
import { writeEdgeBundle } from './bundle.js';
import type { ResolvedEdgeTargetConfig } from './config.js';
import { connectBroker } from './connect.js';
import { readFleet, type FleetView } from './fleet.js';
import { clearBundle, publishBundle, publishDesired, readDesired, readRetained } from './publish.js';
import {
  readMessage,
  rolloutSchema,
  topicsFor,
  type DesiredState,
  type Rollout,
  type Topics,
} from './protocol.js';
import { clearDeviceDesired, planWaves, saveRollout } from './rollout.js';
import { RolloutRunner } from './rollout-runner.js';

/** How long reading the retained desired state waits after the subscription is granted. */
const desiredWindowMs = 300;

export class EdgeTarget implements ComputeTarget {
  readonly kind = 'edge';
  readonly capabilities: TargetCapabilities = targetCapabilities.edge;
  readonly topics: Topics;
  /** Rollouts in waves this process drives now. */
  private readonly rollouts: RolloutRunner;

  constructor(readonly config: ResolvedEdgeTargetConfig) {
    this.topics = topicsFor(config.topicPrefix);
    this.rollouts = new RolloutRunner(config, this.topics);
  }

  private async withBroker<T>(use: (client: MqttClient) => Promise<T>): Promise<T> {
    const client = await connectBroker({
      broker: this.config.broker,
      caFile: this.config.caFile,
      clientId: `berth-${this.config.name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      reconnectPeriodMs: 0,
    });
    try {
      return await use(client);
    } finally {
      await client.endAsync();
    }
  }

  private async publish(
    spec: ResolvedDeployment,
    progress: Progress,
    retry: boolean,
  ): Promise<DeploymentHandle> {
    for (const warning of validateForTarget(spec, this.capabilities, 'edge')) progress(`warning: ${warning}`);
    const id = deploymentId(spec);
    const group = this.config.deviceGroup;
    const started = Date.now();
    const bundle = await writeEdgeBundle(spec, this.config.workDir, this.config.chunkBytes);
    const { manifest } = bundle;
    progress(
      `${id}: edge bundle ${manifest.sha256.slice(0, 12)} (${manifest.sizeBytes} bytes, ${manifest.chunks.length} chunks) built in ${Date.now() - started} ms`,
    );
    try {
      return await this.withBroker(async (client) => {
        const current = await readDesired(client, this.topics, group, desiredWindowMs);
        const rollout = await this.readRollout(client);
        const currentId = refId(current);
        if (currentId !== undefined && currentId !== id) {
          throw new BerthError(
            'CONFLICT',
            `device group ${group} of target ${this.config.name} runs ${currentId}: remove it first (a group runs one deployment)`,
          );
        }
        const rolling = rollout?.state === 'rolling' ? rollout : undefined;
        const sameAsRollout =
          rollout !== undefined &&
          refId(rollout.desired) === id &&
          rollout.desired.bundle?.sha256 === manifest.sha256;
        if (rolling !== undefined && sameAsRollout) {
          progress(
            `${id}: version ${rolling.desired.version} is rolling out to group ${group} (${rolling.reason ?? ''}); resumed`,
          );
          this.rollouts.start(rolling);
          return this.handle(id, rolling.desired);
        }
        if (rollout?.state === 'rolled-back' && sameAsRollout && !retry) {
          progress(
            `${id}: version ${rollout.desired.version} of this bundle was ${rollout.reason ?? 'rolled back'}; update the deployment to try it again`,
          );
          return this.handle(id, rollout.desired);
        }
        if (rolling !== undefined) await this.supersede(client, rolling);
        if (current !== undefined && currentId === id && current.bundle?.sha256 === manifest.sha256) {
          progress(`${id}: group ${group} already wants this bundle (version ${current.version})`);
          return this.handle(id, current);
        }
        await publishBundle(client, this.topics, bundle.file, manifest);
        const desired: DesiredState = {
          schema: 1,
          version: Math.max(current?.version ?? 0, rollout?.desired.version ?? 0) + 1,
          group,
          target: this.config.name,
          publishedAt: new Date().toISOString(),
          deployment: {
            endpoint: spec.endpointName,
            deployment: spec.deploymentName,
            model: { name: spec.model.name, version: spec.model.version },
          },
          bundle: manifest,
        };
        const settings = this.config.rollout;
        if (settings !== undefined && current?.bundle != null) {
          const fleet = await readFleet(client, this.config.topicPrefix, group, this.config.statusWindowMs);
          const reachable = fleet.devices.filter((device) => device.online !== false).map((d) => d.device);
          const skipped = fleet.devices.filter((device) => device.online === false).map((d) => d.device);
          const waves = planWaves(reachable, settings.waves);
          if (waves.length > 0) {
            const now = new Date().toISOString();
            const record: Rollout = {
              schema: 1,
              group,
              state: 'rolling',
              desired,
              from: current,
              waves,
              skipped,
              wave: 0,
              reason: `wave 1 of ${waves.length} (${waves[0]?.join(', ') ?? ''}) is taking version ${desired.version}`,
              startedAt: now,
              updatedAt: now,
            };
            await saveRollout(client, this.topics, record);
            progress(
              `${id}: version ${desired.version} rolls out to group ${group} in ${waves.length} wave${waves.length === 1 ? '' : 's'}: ${waves.map((wave) => wave.join(', ')).join(' | ')}${skipped.length === 0 ? '' : ` (offline, take it at the end: ${skipped.join(', ')})`}`,
            );
            this.rollouts.start(record);
            return this.handle(id, desired);
          }
        }
        await publishDesired(client, this.topics, desired);
        // Devices that run the previous bundle keep it in their caches; one still fetching it turns
        // to the new desired state, so the broker keeps only the bundle wanted now.
        const previous = current?.bundle;
        if (previous != null && previous.sha256 !== manifest.sha256)
          await clearBundle(client, this.topics, previous);
        progress(`${id}: desired version ${desired.version} published for device group ${group}`);
        return this.handle(id, desired);
      });
    } finally {
      await rm(bundle.file, { force: true });
    }
  }

  private async readRollout(client: MqttClient): Promise<Rollout | undefined> {
    const topic = this.topics.rollout(this.config.deviceGroup);
    const payload = (await readRetained(client, topic, desiredWindowMs)).get(topic);
    return payload === undefined ? undefined : readMessage(rolloutSchema, payload);
  }

  /** Settles when the rollout this target drives for its group ends; undefined when none runs here. */
  rolloutDone(): Promise<void> | undefined {
    return this.rollouts.done(this.config.deviceGroup);
  }

  /** A newer deploy while `rolling` runs: devices ahead go back to the group's state, then the new one starts. */
  private async supersede(client: MqttClient, rolling: Rollout): Promise<void> {
    await this.rollouts.stop(rolling.group);
    await clearDeviceDesired(client, this.topics, rolling.waves.flat());
    const bundle = rolling.desired.bundle;
    if (bundle !== null && bundle.sha256 !== rolling.from.bundle?.sha256)
      await clearBundle(client, this.topics, bundle);
    await saveRollout(client, this.topics, {
      ...rolling,
      state: 'rolled-back',
      reason: `superseded by a newer deploy before it finished`,
      updatedAt: new Date().toISOString(),
    });
  }

  deploy(spec: ResolvedDeployment, progress: Progress): Promise<DeploymentHandle> {
    return this.publish(spec, progress, false);
  }

  validate(spec: ResolvedDeployment): Promise<string[]> {
    return Promise.resolve(validateForTarget(spec, this.capabilities, 'edge'));
  }

  update(handle: DeploymentHandle, spec: ResolvedDeployment, progress: Progress): Promise<DeploymentHandle> {
    if (handle.id !== deploymentId(spec))
      throw new BerthError('BAD_INPUT', `handle ${handle.id} is not deployment ${deploymentId(spec)}`);
    return this.publish(spec, progress, true);
  }

  /** The group as the broker holds it: desired state and each device's twin. */
  fleet(): Promise<FleetView> {
    return this.withBroker((client) =>
      readFleet(client, this.config.topicPrefix, this.config.deviceGroup, this.config.statusWindowMs),
    );
  }

  async status(handle: DeploymentHandle): Promise<DeploymentStatus> {
    const view = await this.fleet();
    const desired = view.desired;
    const rollout =
      view.rollout !== undefined && refId(view.rollout.desired) === handle.id ? view.rollout : undefined;
    const desiredId = refId(desired);
    if (desired === undefined || desiredId !== handle.id) {
      return {
        state: 'Failed',
        reason: `device group ${view.group} no longer wants ${handle.id}`,
        replicas: [],
      };
    }
    // During a rollout a device of a wave that went ahead should run the new version, the rest the old.
    const ahead = new Set(
      rollout?.state === 'rolling' ? rollout.waves.slice(0, rollout.wave + 1).flat() : [],
    );
    const wanted = (device: string): number =>
      ahead.has(device) && rollout !== undefined ? rollout.desired.version : desired.version;
    const replicas: ReplicaStatus[] = view.devices.map(({ device, online, twin }) => ({
      id: device,
      url: undefined,
      state:
        twin.runningVersion === wanted(device) && twin.state === 'running' && online !== false
          ? 'ready'
          : twin.state === 'failed' || twin.failedVersion === wanted(device)
            ? 'failed'
            : online === false
              ? 'unhealthy'
              : 'starting',
      restarts: twin.counters.failedStarts,
      reason: twin.lastError ?? undefined,
    }));
    const ready = replicas.filter((replica) => replica.state === 'ready').length;
    // Unhealthy, not Transitioning, while devices catch up: the control plane reads a live status
    // only for Healthy and Unhealthy deployments, and devices may take hours to come online.
    if (rollout !== undefined && rollout.state !== 'complete') {
      const what =
        rollout.state === 'rolling'
          ? `rolling out version ${rollout.desired.version} in waves: ${rollout.reason ?? ''}`
          : `rollout of version ${rollout.desired.version} ${rollout.reason ?? 'rolled back'}`;
      return { state: 'Unhealthy', reason: what, replicas };
    }
    if (replicas.length === 0) {
      return {
        state: 'Unhealthy',
        reason: `no device of group ${view.group} has reported yet`,
        replicas,
      };
    }
    if (ready === replicas.length) return { state: 'Healthy', reason: undefined, replicas };
    const failed = replicas.find((replica) => replica.state === 'failed');
    return {
      state: 'Unhealthy',
      reason: `${ready} of ${replicas.length} devices run version ${desired.version}${failed?.reason === undefined ? '' : `; ${failed.id}: ${failed.reason}`}`,
      replicas,
    };
  }

  /** Devices keep their logs (the agent's stderr): the control plane has none to show. */
  logs(_handle: DeploymentHandle, options: LogOptions): AsyncIterable<LogLine> {
    const { signal } = options;
    return {
      async *[Symbol.asyncIterator]() {
        if (options.follow && signal !== undefined && !signal.aborted)
          await new Promise((settle) => signal.addEventListener('abort', settle, { once: true }));
        yield* [] as LogLine[];
      },
    };
  }

  /**
   * Publishes "run nothing" for the group (if it still wants this deployment), stops a rollout of
   * it, and clears its bundles and its rollout record.
   */
  async remove(handle: DeploymentHandle): Promise<void> {
    await this.rollouts.stop(this.config.deviceGroup);
    await this.withBroker(async (client) => {
      const current = await readDesired(client, this.topics, this.config.deviceGroup, desiredWindowMs);
      const rollout = await this.readRollout(client);
      if (current === undefined || refId(current) !== handle.id) return;
      if (rollout !== undefined) {
        await clearDeviceDesired(client, this.topics, rollout.waves.flat());
        const bundle = rollout.desired.bundle;
        if (rollout.state === 'rolling' && bundle !== null && bundle.sha256 !== current.bundle?.sha256)
          await clearBundle(client, this.topics, bundle);
      }
      await publishDesired(client, this.topics, {
        ...current,
        version: Math.max(current.version, rollout?.desired.version ?? 0) + 1,
        publishedAt: new Date().toISOString(),
        deployment: null,
        bundle: null,
      });
      if (current.bundle !== null) await clearBundle(client, this.topics, current.bundle);
      if (rollout !== undefined)
        await client.publishAsync(this.topics.rollout(this.config.deviceGroup), Buffer.alloc(0), {
          qos: 1,
          retain: true,
        });
    });
  }

  /** Stops the rollouts this process drives; each stays `rolling` on the broker, resumed by the next deploy. */
  async close(): Promise<void> {
    await this.rollouts.stopAll();
  }

  private handle(id: string, desired: DesiredState): DeploymentHandle {
    return {
      target: this.config.name,
      kind: 'edge',
      id,
      data: {
        broker: this.config.broker,
        group: desired.group,
        version: desired.version,
        bundle: desired.bundle?.sha256,
        bundleBytes: desired.bundle?.sizeBytes,
      },
    };
  }
}

function refId(desired: DesiredState | undefined): string | undefined {
  return desired?.deployment == null
    ? undefined
    : `${desired.deployment.endpoint}/${desired.deployment.deployment}`;
}
