/**
 * Rollout in waves against the real Mosquitto, with three devices as separate `berth edge agent`
 * processes, each with its own cache folder. A group of cell-1, cell-2, cell-3 with waves of 50%
 * then the rest: a good version reaches cell-3 only after cell-1 and cell-2 ran it and baked; a
 * version whose server cannot start on cell-2 (it lacks the calibration cell-1 has) rolls the
 * whole group back (cell-1 returns to the old version, cell-3 never hears of the new one); a wave
 * with a frozen device rolls back once the report timeout passes. Each step needs the one before:
 * when one fails, the later ones are skipped saying so.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import type { MqttClient } from 'mqtt';
import {
  createEdgeTarget,
  topicsFor,
  type EdgeTarget,
  type Rollout,
  type Twin,
} from '../../src/targets/edge/index.js';
import type { DeploymentHandle, ResolvedDeployment } from '../../src/targets/target.js';
import { runBerth } from '../helpers/cli.js';
import { failures, send, sleep, steadyLoad, type Answer } from '../helpers/http.js';
import { linearDeployment, scriptDeployment, tempDir, waitFor } from '../targets/helpers.js';
import {
  broker,
  clearPrefix,
  connectTest,
  Device,
  messageOn,
  stepsInOrder,
  uniquePrefix,
  type DeviceEvent,
} from './device.js';

const rows = [[1, 2, 3]];

/** A scoring script that answers its version; with `needsCalibration`, init fails without LINE_CALIBRATION. */
function versionScript(version: number, needsCalibration = false): string {
  return [
    'export async function init() {',
    needsCalibration ? '  if (!process.env.LINE_CALIBRATION) throw new Error("no sensor calibration");' : '',
    '}',
    `export async function run() { return { version: ${version} }; }`,
  ].join('\n');
}

describe('edge rollout in waves with automatic rollback', { concurrency: 1, timeout: 600_000 }, () => {
  const dir = tempDir('edge-waves');
  const prefix = uniquePrefix();
  const group = 'line-b';
  const ids = ['cell-1', 'cell-2', 'cell-3'] as const;
  const devices = new Map<string, Device>();
  const targets: EdgeTarget[] = [];
  let handle: DeploymentHandle | undefined;
  /** Watches the devices' twins on the broker. */
  let client: MqttClient | undefined;
  const topics = topicsFor(prefix);
  /** Resolves once `id`'s twin on the broker passes `match`. */
  const reported = async (id: string, match: (twin: Twin) => boolean, what: string): Promise<Twin> => {
    client ??= await connectTest();
    return messageOn<Twin>(client, topics.reported(id), match, 60_000, `${id}: ${what}`);
  };

  const makeTarget = (reportTimeoutMs: number): EdgeTarget => {
    const target = createEdgeTarget({
      kind: 'edge',
      name: 'plant-9',
      broker,
      deviceGroup: group,
      topicPrefix: prefix,
      workDir: join(dir.path, 'work'),
      rollout: { waves: ['50%'], bakeMs: 1000, reportTimeoutMs },
    });
    targets.push(target);
    return target;
  };
  const device = (id: string): Device => {
    const found = devices.get(id);
    assert.ok(found, id);
    return found;
  };
  const step = stepsInOrder();
  const running = (id: string, version: number, timeoutMs = 180_000): Promise<DeviceEvent> =>
    device(id).event(
      (event) => event.event === 'running' && event.version === version,
      timeoutMs,
      `${id} running version ${version}`,
    );
  /** What the device's local /score answers now. */
  const scoreOn = async (id: string): Promise<unknown> => {
    const answer = await send(`${await device(id).url()}/score`, { body: { data: rows } });
    assert.equal(answer.status, 200, `${id}: ${answer.body}`);
    return JSON.parse(answer.body);
  };
  const update = async (target: EdgeTarget, spec: ResolvedDeployment): Promise<Rollout> => {
    assert.ok(handle, 'a deployment to update');
    const messages: string[] = [];
    handle = await target.update(handle, spec, (line) => messages.push(line));
    assert.ok(
      messages.some((line) => /rolls out to group line-b in 2 waves: cell-1, cell-2 \| cell-3/.test(line)),
      messages.join('\n'),
    );
    await target.rolloutDone();
    const rollout = (await target.fleet()).rollout;
    assert.ok(rollout, 'the rollout record');
    assert.equal(rollout.desired.version, handle.data.version);
    return rollout;
  };

  after(async () => {
    for (const target of targets) await target.close();
    await client?.endAsync();
    for (const started of devices.values()) await started.stop();
    await clearPrefix(prefix);
    dir.remove();
  });

  step('a first deploy goes to every device of the group at once', async () => {
    for (const id of ids) {
      devices.set(
        id,
        new Device({
          deviceId: id,
          cache: join(dir.path, `cache-${id}`),
          prefix,
          group,
          ...(id === 'cell-1' ? { env: { LINE_CALIBRATION: 'ok' } } : {}),
        }),
      );
    }
    for (const id of ids) await device(id).url();
    // Every device has reported (its twin is retained) before the first deploy.
    const target = makeTarget(120_000);
    for (const id of ids) await reported(id, () => true, 'a twin');
    handle = await target.deploy(linearDeployment(dir.path), () => undefined);
    assert.equal(handle.data.version, 1);
    for (const id of ids) await running(id, 1);
    assert.equal((await target.fleet()).rollout, undefined);
  });

  step(
    'a good version advances wave by wave: cell-3 gets it only after cell-1 and cell-2 ran it and baked',
    async () => {
      const [target] = targets;
      assert.ok(target);
      // A steady, paced load on cell-3's own address while the group changes version: the
      // device starts the new server beside the old one, so no request fails.
      const url = await device('cell-3').url();
      const load = steadyLoad(
        async () => {
          await sleep(20);
          return send(`${url}/score`, { body: { data: rows } });
        },
        { clients: 2 },
      );
      let answers: Answer[];
      let rollout: Rollout;
      try {
        rollout = await update(target, scriptDeployment(dir.path, versionScript(2)));
        await running('cell-3', 2);
        const settled = load.count();
        await waitFor(() => load.count() >= settled + 10, 30_000, 'answers after the switch');
      } finally {
        answers = await load.stop();
      }
      assert.deepEqual(failures(answers), [], `${answers.length} requests during the rollout`);
      assert.deepEqual(
        [...new Set(answers.map((answer) => answer.body))].sort(),
        ['[[4.75]]', '{"version":2}'],
        'both versions answered',
      );
      assert.equal(rollout.state, 'complete', rollout.reason ?? '');
      assert.deepEqual(rollout.waves, [['cell-1', 'cell-2'], ['cell-3']]);
      assert.equal(rollout.wave, 2);
      const first = Math.max(
        (await running('cell-1', 2)).receivedAt,
        (await running('cell-2', 2)).receivedAt,
      );
      const heard = await device('cell-3').event(
        (event) => event.event === 'desired' && event.version === 2,
        10_000,
        'cell-3 told of version 2',
      );
      // The bake is 1 s; the devices' lines reach the test a few ms apart, so allow a little.
      assert.ok(
        heard.receivedAt >= first + 900,
        `cell-3 heard of version 2 ${heard.receivedAt - first} ms after wave 1 ran it`,
      );
      await running('cell-3', 2);
      for (const id of ids) assert.deepEqual(await scoreOn(id), { version: 2 });
      // Status and fleet read the retained twins, which follow the devices' lines by a moment.
      for (const id of ids) await reported(id, (twin) => twin.runningVersion === 2, 'version 2 reported');
      const view = await target.fleet();
      assert.equal(view.desired?.version, 2);
      for (const { twin } of view.devices) assert.equal(twin.runningVersion, 2);
      const status = await target.status(handle!);
      assert.equal(status.state, 'Healthy', status.reason);
    },
  );

  step('a version that cannot start on cell-2 rolls the group back; cell-3 never receives it', async () => {
    const [target] = targets;
    assert.ok(target);
    const rollout = await update(target, scriptDeployment(dir.path, versionScript(3, true)));
    assert.equal(rollout.state, 'rolled-back');
    assert.match(
      rollout.reason ?? '',
      /rolled back to version 2: cell-2 could not start version 3: .*no sensor calibration/,
    );
    // cell-1 started version 3 (it has the calibration), then went back to version 2.
    const ran3 = await running('cell-1', 3, 10_000);
    await device('cell-1').event(
      (event) => event.event === 'running' && event.version === 2 && event.receivedAt > ran3.receivedAt,
      60_000,
      'cell-1 back on version 2',
    );
    await device('cell-2').event(
      (event) => event.event === 'failed-start' && event.version === 3,
      10_000,
      'cell-2 failed start',
    );
    assert.deepEqual(
      device('cell-3').events.filter((event) => event.version === 3),
      [],
      'cell-3 saw nothing of version 3',
    );
    for (const id of ids) assert.deepEqual(await scoreOn(id), { version: 2 });
    const view = await target.fleet();
    assert.equal(view.desired?.version, 2);
    assert.equal(view.devices.find((row) => row.device === 'cell-3')?.twin.desiredVersion, 2);
    const status = await target.status(handle!);
    assert.equal(status.state, 'Unhealthy');
    assert.match(
      status.reason ?? '',
      /rollout of version 3 rolled back to version 2: cell-2 could not start/,
    );

    const workspace = join(dir.path, 'workspace');
    assert.equal((await runBerth(['init'], { workspace })).code, 0);
    const created = await runBerth(
      [
        'target',
        'create',
        'plant-9',
        '--type',
        'edge',
        '--broker',
        broker,
        '--device-group',
        group,
        '--topic-prefix',
        prefix,
        '--rollout-waves',
        '50%',
        '--rollout-bake-ms',
        '1000',
      ],
      { workspace },
    );
    assert.equal(created.code, 0, created.stderr);
    const shown = await runBerth(['edge', 'status', 'plant-9'], { workspace });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(
      shown.stdout,
      /rollout of version 3: rolled-back \(waves cell-1, cell-2 \| cell-3\): rolled back to version 2: cell-2 could not start version 3/,
    );
  });

  step('a wave whose device does not report within the timeout rolls back', async () => {
    const target = makeTarget(8000);
    device('cell-1').freeze();
    let rollout: Rollout;
    try {
      rollout = await update(target, scriptDeployment(dir.path, versionScript(4)));
    } finally {
      device('cell-1').thaw();
    }
    assert.equal(rollout.state, 'rolled-back');
    assert.match(
      rollout.reason ?? '',
      /rolled back to version 2: cell-1(, cell-2)? did not report version 4 running within 8000 ms/,
    );
    for (const id of ids)
      await waitFor(
        async () => JSON.stringify(await scoreOn(id)) === JSON.stringify({ version: 2 }),
        60_000,
        `${id} serves version 2`,
      );
    assert.deepEqual(
      device('cell-3').events.filter((event) => event.version === 4),
      [],
      'cell-3 saw nothing of version 4',
    );
  });
});
