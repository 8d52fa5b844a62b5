/**
 * The README's "Edge devices" section through the real executable: a named edge target, a device
 * (`berth edge agent`, its own process and cache folder) in its group, the OCR example's blue.yml
 * deployed to it with `--set target=…` through the control plane, the device answering /score
 * and MQTT, `berth edge status` showing it, an update whose server cannot start rolled back (the
 * target rolls out in waves), and the deployment deleted leaving the device idle.
 */
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { MqttClient } from 'mqtt';
import { stopServer } from '../../src/sdk/control-plane-process.js';
import { topicsFor } from '../../src/targets/edge/index.js';
import { ocrClassifierPath, repoRoot, runBerth, type CliResult } from '../helpers/cli.js';
import { send } from '../helpers/http.js';
import {
  broker,
  clearPrefix,
  connectTest,
  Device,
  messageOn,
  request,
  stepsInOrder,
  uniquePrefix,
} from './device.js';

const example = (file: string) => join(repoRoot, 'examples', 'endpoints', 'ocr', file);

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return result;
}

function softmax(text: string): number[][] {
  const rows = JSON.parse(text) as number[][];
  assert.equal(rows[0]?.length, 2, text);
  assert.ok(Math.abs((rows[0]?.[0] ?? 0) + (rows[0]?.[1] ?? 0) - 1) < 1e-5, 'a softmax');
  return rows;
}

describe(
  'berth target create --type edge, berth edge agent and berth edge status',
  { timeout: 900_000 },
  () => {
    let root: string;
    let workspace: string;
    let device: Device;
    let client: MqttClient;
    const prefix = uniquePrefix();
    const berth = (...args: string[]) => runBerth(args, { workspace, cwd: root });
    // Deleting needs the deployment the first step made.
    const step = stepsInOrder();

    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'berth-edge-cli-'));
      workspace = join(root, 'ws');
      ok(await berth('init'));
      ok(await berth('model', 'register', '--name', 'ocr-cls', '--path', ocrClassifierPath));
      client = await connectTest();
    });
    after(async () => {
      await device?.stop();
      await client?.endAsync();
      await stopServer(workspace);
      await clearPrefix(prefix);
      await rm(root, { recursive: true, force: true });
    });

    step('deploys blue.yml to a device of the group; the device scores over HTTP and MQTT', async () => {
      const missing = await berth('target', 'create', 'plant-x', '--type', 'edge');
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /--type edge needs --broker/);
      const created = JSON.parse(
        ok(
          await berth(
            'target',
            'create',
            'plant-7',
            '--type',
            'edge',
            '--broker',
            broker,
            '--device-group',
            'line-a',
            '--topic-prefix',
            prefix,
            '--rollout-waves',
            '1',
            '--rollout-bake-ms',
            '0',
            '--json',
          ),
        ).stdout,
      ) as { config: Record<string, unknown> };
      assert.deepEqual(created.config, {
        broker,
        deviceGroup: 'line-a',
        topicPrefix: prefix,
        rollout: { waves: [1], bakeMs: 0 },
      });
      const stray = await berth('target', 'create', 'plant-y', '--type', 'local', '--rollout-waves', '1');
      assert.equal(stray.code, 2);
      assert.match(stray.stderr, /--rollout-waves applies to --type edge only/);
      const badWaves = await berth(
        'target',
        'create',
        'plant-z',
        '--type',
        'edge',
        '--broker',
        broker,
        '--rollout-waves',
        '1,half',
      );
      assert.equal(badWaves.code, 2);
      assert.match(badWaves.stderr, /--rollout-waves: expected sizes such as 1,25%/);

      device = new Device({
        deviceId: 'press-12',
        cache: join(root, 'device-cache'),
        prefix,
        group: 'line-a',
      });
      const url = await device.url();
      ok(await berth('endpoint', 'create', '-f', example('endpoint.yml')));
      const deployed = ok(
        await berth(
          'deployment',
          'create',
          '-f',
          example('blue.yml'),
          '-n',
          'blue-edge',
          '--set',
          'target=plant-7',
          '--json',
        ),
      );
      const record = JSON.parse(deployed.stdout) as { name: string; target: string };
      assert.deepEqual([record.name, record.target], ['blue-edge', 'plant-7']);
      assert.match(deployed.stderr, /readiness_probe: ignored on target "plant-7" \(edge\)/);
      await device.event(
        (event) => event.event === 'running' && event.version === 1,
        300_000,
        'version 1 running',
      );

      const body = await readFile(example('request.json'), 'utf8');
      const scored = await send(`${url}/score`, {
        raw: Buffer.from(body),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(scored.status, 200, scored.body);
      const expected = softmax(scored.body);
      const topics = topicsFor(prefix);
      const reply = await request(
        client,
        topics.input('press-12', 'cam-1'),
        topics.output('press-12', 'cam-1'),
        body,
        60_000,
      );
      assert.deepEqual(JSON.parse(reply.payload), expected);

      // The status is read from the device's retained twin: once that says version 1 runs, so must show.
      await messageOn<{ state: string; runningVersion: number }>(
        client,
        topics.reported('press-12'),
        (twin) => twin.state === 'running' && twin.runningVersion === 1,
        60_000,
        'press-12 reporting version 1 running',
      );
      const shown = JSON.parse(
        ok(await berth('deployment', 'show', 'blue-edge', '-e', 'ocr', '--json')).stdout,
      ) as { state: string; replicas: { id: string; state: string }[] };
      assert.equal(shown.state, 'Healthy');
      assert.deepEqual(
        shown.replicas.map((replica) => [replica.id, replica.state]),
        [['press-12', 'ready']],
      );
      const status = ok(await berth('edge', 'status', 'plant-7'));
      assert.match(status.stdout, /desired version 1: ocr\/blue-edge \(model ocr-cls:1\)/);
      assert.match(status.stdout, /press-12\s+running\s+1\s+1\s+ocr-cls:1\s+online/);
      const notEdge = await berth('edge', 'status', 'local');
      assert.notEqual(notEdge.code, 0);
    });

    step(
      'an update whose server cannot start is rolled back; deployment show and edge status say why',
      async () => {
        // A setting that stops the new version's server on the device: node refuses the option.
        const updated = ok(
          await berth(
            'deployment',
            'update',
            'blue-edge',
            '-e',
            'ocr',
            '--set',
            'environment_variables.NODE_OPTIONS=--no-such-option',
            '--json',
          ),
        );
        // The rollout runs in the server after the update returns: its first word is the first wave.
        const answered = JSON.parse(updated.stdout) as { state: string; reason: string | null };
        assert.equal(answered.state, 'Unhealthy');
        assert.match(
          answered.reason ?? '',
          /^(rolling out version 2 in waves: wave 1 of 1 \(press-12\) is taking version 2|rollout of version 2 rolled back)/,
        );
        await device.event(
          (event) => event.event === 'failed-start' && event.version === 2,
          120_000,
          'version 2 failing to start',
        );
        // The server records the rollback on the broker, and the device, sent back to version 1,
        // reports it wants version 1 again: both are waited for there, not by polling commands.
        const topics = topicsFor(prefix);
        await messageOn<{ state: string; desired: { version: number } }>(
          client,
          topics.rollout('line-a'),
          (rollout) => rollout.desired.version === 2 && rollout.state === 'rolled-back',
          60_000,
          'the rollout of version 2 rolled back',
        );
        await messageOn<{ desiredVersion: number; runningVersion: number; failedVersion: number }>(
          client,
          topics.reported('press-12'),
          (twin) => twin.desiredVersion === 1 && twin.runningVersion === 1 && twin.failedVersion === 2,
          60_000,
          'press-12 back on version 1',
        );
        const shown = JSON.parse(
          ok(await berth('deployment', 'show', 'blue-edge', '-e', 'ocr', '--json')).stdout,
        ) as { state: string; reason: string | null };
        assert.equal(shown.state, 'Unhealthy');
        assert.match(
          shown.reason ?? '',
          /^rollout of version 2 rolled back to version 1: press-12 could not start version 2: .*no-such-option/,
        );
        const status = ok(await berth('edge', 'status', 'plant-7'));
        assert.match(status.stdout, /desired version 1: ocr\/blue-edge/);
        assert.match(
          status.stdout,
          /rollout of version 2: rolled-back \(waves press-12\): rolled back to version 1/,
        );
        assert.match(status.stdout, /press-12\s+running\s+1\s+1\s+ocr-cls:1\s+online/);
      },
    );

    step('deleting the deployment leaves the device idle', async () => {
      ok(await berth('deployment', 'delete', 'blue-edge', '-e', 'ocr'));
      await device.event((event) => event.event === 'idle', 60_000, 'idle');
      ok(await berth('endpoint', 'delete', 'ocr'));
    });
  },
);
