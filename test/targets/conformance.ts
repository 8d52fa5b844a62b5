/**
 * The target conformance suite: the proof of "change the target, not the code". Every target that
 * can run on this machine runs these same cases with a five-line test file of its own
 * (`<kind>.conformance.slow.test.ts`), against the ComputeTarget contract of
 * src/targets/target.ts only: deploy the linear model (y = x·[0.5,-1,2] + 0.25), score the same
 * requests on every replica, roll an update under load with no failed request, read and follow
 * logs, fail on a scoring script whose init throws, and remove, leaving nothing running.
 *
 * Five cases take one deployment from deploy to remove, in order; the failing deployment runs
 * beside them, so two deployments share the target as they would in use. What only one target
 * does (pid files, images, limits, engines) stays in that target's own tests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import type {
  ComputeTarget,
  DeploymentHandle,
  LogLine,
  ReplicaStatus,
  ResolvedDeployment,
} from '../../src/targets/target.js';
import { REPLICA_TOKEN_HEADER } from '../../src/scoring/auth.js';
import {
  failures,
  send as sendRaw,
  sleep,
  steadyLoad,
  type Answer,
  type SendOptions,
} from '../helpers/http.js';
import { linearDeployment, noProgress, scriptDeployment, tempDir, waitFor } from './helpers.js';

export interface ConformanceFixture {
  target: ComputeTarget;
  /** Closes the target and removes whatever the fixture made. */
  cleanup(): Promise<void>;
}

export interface ConformanceOptions {
  /** A reason to skip the whole suite (e.g. no engine answers), or undefined to run it. */
  skip?: string | undefined;
  /** The target's name in specs and handles. Default: the name given to the suite. */
  targetName?: string;
  /**
   * What of these deployments still runs (process ids, container ids…) as the target's own tools
   * see it; the suite expects none after remove(). Default: only the replica URLs are checked.
   */
  leftovers?(handles: readonly DeploymentHandle[]): Promise<string[]>;
  /**
   * A second deploy() of a running deployment adopts it (the same handle id, the same replicas)
   * instead of refusing it with CONFLICT: a target whose deployments outlive the control plane
   * (kubernetes), which redeploys its stored deployments after a restart. Default false.
   */
  redeployAdopts?: boolean;
}

/** Three rows of x, and y by hand: 0.5·x₀ − x₁ + 2·x₂ + 0.25 (all exact in FP32). */
const rows = [
  [1, 2, 3],
  [0, 0, 0],
  [-2, 0.5, 1],
];
const expected = [[4.75], [0.25], [0.75]];

/** Polled as often as the test helpers' fast probe, but failing only after about 20 s of no answer. */
const tolerantProbe = {
  initialDelayMs: 0,
  periodMs: 200,
  timeoutMs: 2000,
  successThreshold: 1,
  failureThreshold: 10,
};

function v2Request(id: string): object {
  return { id, inputs: [{ name: 'x', shape: [3, 3], datatype: 'FP32', data: rows.flat() }] };
}

function v2Answer(id: string, version: number): { outputs: object[]; [field: string]: unknown } {
  return {
    model_name: 'linear',
    model_version: String(version),
    id,
    outputs: [{ name: 'y', datatype: 'FP32', shape: [3, 1], data: expected.flat() }],
  };
}

const initError = (variable: string): string =>
  [
    `export function init() { throw new Error("cannot open vocabulary file " + process.env.${variable}); }`,
    'export function run() { return 1; }',
  ].join('\n');

async function collect(lines: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

/** Registers the shared cases for one target with node:test. */
export function describeTargetConformance(
  name: string,
  makeTarget: () => Promise<ConformanceFixture>,
  options: ConformanceOptions = {},
): void {
  describe(`${name} target conformance`, { skip: options.skip, concurrency: true }, () => {
    let fixture: ConformanceFixture;
    let target: ComputeTarget;
    let dir: ReturnType<typeof tempDir>;
    let spec: ResolvedDeployment;
    let handle: DeploymentHandle;
    /** Every handle the deployment had, for the check after remove(). */
    const handles: DeploymentHandle[] = [];

    /** The serving replicas as a balancer sees them: currentReplicas() when offered, else status(). */
    const serving = async (): Promise<ReplicaStatus[]> =>
      target.currentReplicas?.(handle) ?? (await target.status(handle)).replicas;
    /** Every replica's token by its URL: requests here go to replicas as the gateway sends them. */
    const tokens = new Map<string, string>();
    const readyUrls = async (): Promise<string[]> =>
      (await serving()).flatMap((r) => {
        if (r.state !== 'ready' || !r.url) return [];
        if (r.token !== undefined) tokens.set(r.url, r.token);
        return [r.url];
      });
    const send = (url: string, options: SendOptions = {}): Promise<Answer> => {
      const base = [...tokens.keys()].find((known) => url.startsWith(`${known}/`));
      const token = base === undefined ? undefined : tokens.get(base);
      const headers =
        token === undefined ? options.headers : { [REPLICA_TOKEN_HEADER]: token, ...options.headers };
      return sendRaw(url, { ...options, headers });
    };

    before(async () => {
      dir = tempDir(`${name}-conformance`);
      fixture = await makeTarget();
      target = fixture.target;
      spec = linearDeployment(dir.path, {
        target: options.targetName ?? name,
        endpointName: 'conformance',
        deploymentName: 'linear',
        instanceCount: 2,
        // Probes that survive a few seconds of a starved CPU (an image build beside the load on
        // two cores): what is under test is the contract, not how fast a probe gives up.
        readinessProbe: tolerantProbe,
        livenessProbe: { ...tolerantProbe, periodMs: 1000 },
      });
    });
    after(async () => {
      await fixture?.cleanup();
      dir?.remove();
    });

    it('fails a deployment whose scoring script init throws, with the script message', async () => {
      const broken = scriptDeployment(dir.path, initError('VOCABULARY'), {
        target: spec.target,
        endpointName: 'conformance',
        deploymentName: 'broken',
        environmentVariables: { VOCABULARY: 'vocab-42.json' },
      });
      await assert.rejects(target.deploy(broken, noProgress), (error: Error) => {
        assert.ok(hasErrorCode(error, 'RUN_FAILED'), String(error));
        assert.match(error.message, /vocab-42\.json/);
        return true;
      });
      const failed: DeploymentHandle = {
        target: spec.target,
        kind: target.kind,
        id: 'conformance/broken',
        data: {},
      };
      const status = await target.status(failed);
      assert.equal(status.state, 'Failed');
      assert.match(status.reason ?? '', /vocab-42\.json/);
      await target.remove(failed);
      await assert.rejects(target.status(failed), (error) => hasErrorCode(error, 'NOT_FOUND'));
      assert.deepEqual((await options.leftovers?.([failed])) ?? [], []);
    });

    // One deployment goes from deploy to remove in order; the failing deployment runs beside it.
    describe('one deployment, from deploy to remove', { concurrency: 1 }, () => {
      it('deploys 2 instances: Healthy with 2 ready replicas, a JSON handle, no second deploy', async () => {
        handle = await target.deploy(spec, noProgress);
        handles.push(handle);
        assert.equal(handle.kind, target.kind);
        assert.deepEqual(JSON.parse(JSON.stringify(handle)), handle, 'the handle is JSON');
        const status = await target.status(handle);
        assert.equal(status.state, 'Healthy', status.reason);
        assert.equal(status.replicas.length, 2);
        assert.deepEqual(
          status.replicas.map((replica) => replica.state),
          ['ready', 'ready'],
        );
        assert.equal(new Set(status.replicas.map((replica) => replica.url)).size, 2, 'two addresses');
        assert.deepEqual(
          await readyUrls(),
          status.replicas.map((replica) => replica.url),
        );
        if (options.redeployAdopts) {
          const ids = (replicas: ReplicaStatus[]) => replicas.map((replica) => replica.id).sort();
          const again = await target.deploy(spec, noProgress);
          assert.equal(again.id, handle.id);
          assert.deepEqual(
            ids((await target.status(handle)).replicas),
            ids(status.replicas),
            'the same replicas',
          );
        } else {
          await assert.rejects(target.deploy(spec, noProgress), (error) => hasErrorCode(error, 'CONFLICT'));
        }
      });

      it('answers only the gateway: a request without the replica token gets 401, health stays open', async () => {
        for (const replica of await serving()) {
          assert.ok(replica.token !== undefined && replica.token.length >= 32, `${replica.id} has a token`);
          const url = replica.url!;
          const refused = await sendRaw(`${url}/score`, { body: { data: rows } });
          assert.equal(refused.status, 401, refused.body);
          assert.match(JSON.parse(refused.body).message, /replica token/);
          const wrong = await sendRaw(`${url}/v2/models/linear/infer`, {
            body: v2Request('c0'),
            headers: { [REPLICA_TOKEN_HEADER]: 'x'.repeat(32) },
          });
          assert.equal(wrong.status, 401, wrong.body);
          assert.equal((await sendRaw(`${url}/metrics`)).status, 401);
          assert.equal((await sendRaw(`${url}/v2/health/ready`)).status, 200);
          assert.equal((await sendRaw(`${url}/v2/health/live`)).status, 200);
        }
      });

      it('answers the same requests with the same hand-computed outputs on every replica', async () => {
        for (const url of await readyUrls()) {
          const headers = { 'x-request-id': `conformance-score-${url}` };
          assert.equal((await send(`${url}/`)).body, 'Healthy');
          const score = await send(`${url}/score`, { body: { data: rows }, headers });
          assert.equal(score.status, 200, score.body);
          assert.deepEqual(JSON.parse(score.body), expected);
          const infer = await send(`${url}/v2/models/linear/infer`, { body: v2Request('c1') });
          assert.equal(infer.status, 200, infer.body);
          assert.deepEqual(JSON.parse(infer.body), v2Answer('c1', 1));
          const wrong = await send(`${url}/score`, { body: { data: [[1, 2]] } });
          assert.equal(wrong.status, 400);
          assert.match(JSON.parse(wrong.body).message, /expected \[-1,3\]/);
        }
      });

      it('rolls an update under a steady load with no failed request, then the new version answers', async () => {
        const first = await readyUrls();
        const load = steadyLoad(async (client, n) => {
          const ready = await readyUrls();
          const url = ready[(client + n) % ready.length];
          if (url === undefined) {
            // As the gateway would answer 503; paced, so a long outage fails the test, not the heap.
            const states = (await serving()).map((r) => `${r.id} ${r.state} ${r.reason ?? ''}`);
            await sleep(50);
            return { status: 0, headers: {}, body: `no ready replica: ${states.join('; ')}`, ms: 50 };
          }
          return send(`${url}/v2/models/linear/infer`, {
            body: v2Request(`load-${client}-${n}`),
            headers: { 'x-request-id': `conformance-load-${client}-${n}` },
            keepAlive: false,
          });
        });
        let answers: Answer[] = [];
        try {
          await waitFor(() => load.count() >= 8, 10_000, 'the load to start');
          const next = { ...spec, model: { ...spec.model, version: 2 }, environmentVariables: { V: '2' } };
          handle = await target.update(handle, next, noProgress);
          handles.push(handle);
          spec = next;
          const settled = load.count();
          await waitFor(() => load.count() >= settled + 8, 10_000, 'requests after the update');
        } finally {
          answers = await load.stop();
        }
        assert.deepEqual(failures(answers), [], `${answers.length} requests during the update`);
        const versions = answers.map((answer) => JSON.parse(answer.body).model_version as string);
        assert.deepEqual([...new Set(versions)].sort(), ['1', '2'], 'both versions served');
        for (const answer of answers)
          assert.deepEqual(JSON.parse(answer.body).outputs, v2Answer('', 1).outputs);

        const status = await target.status(handle);
        assert.equal(status.state, 'Healthy', status.reason);
        const renewed = await readyUrls();
        assert.equal(renewed.length, 2);
        assert.ok(
          renewed.every((url) => !first.includes(url)),
          'new replicas serve',
        );
        for (const url of renewed) {
          const answer = await send(`${url}/v2/models/linear/infer`, { body: v2Request('c2') });
          assert.deepEqual(JSON.parse(answer.body), v2Answer('c2', 2));
        }
        for (const url of first)
          await assert.rejects(send(`${url}/`, { keepAlive: false }), 'old replicas stop');
      });

      it('returns log lines from the replicas, and follows new ones', async () => {
        const replicas = (await target.status(handle)).replicas.map((replica) => replica.id);
        const lines = await collect(target.logs(handle, { lines: 500, follow: false }));
        for (const line of lines) {
          assert.ok(line.stream === 'stdout' || line.stream === 'stderr', JSON.stringify(line));
          assert.ok(!Number.isNaN(Date.parse(line.time)), JSON.stringify(line));
        }
        const from = new Set(lines.map((line) => line.replica));
        assert.ok(
          replicas.every((id) => from.has(id)),
          `lines from ${[...from].join(', ')}; replicas ${replicas.join(', ')}`,
        );
        assert.ok(lines.some((line) => line.text.includes('conformance-load-')));
        assert.equal((await collect(target.logs(handle, { lines: 2, follow: false }))).length, 2);

        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), 15_000);
        const followed: LogLine[] = [];
        const reading = (async () => {
          const options = { lines: 0, follow: true, signal: controller.signal };
          for await (const line of target.logs(handle, options)) {
            followed.push(line);
            if (line.text.includes('conformance-follow-')) controller.abort();
          }
        })();
        const [url] = await readyUrls();
        // Requests until one shows: a target may open its streams a moment after logs() returns.
        for (let n = 0; !controller.signal.aborted; n += 1) {
          await send(`${url}/v2/health/live`, { headers: { 'x-request-id': `conformance-follow-${n}` } });
          await sleep(100);
        }
        await reading;
        clearTimeout(timer);
        assert.ok(
          followed.some((line) => line.text.includes('conformance-follow-')),
          'a new line is followed',
        );
      });

      it('removes the deployment: NOT_FOUND, replica URLs stop answering, nothing left running', async () => {
        // The first generation's replicas were checked after the update.
        const last = await readyUrls();
        await target.remove(handle);
        await assert.rejects(target.status(handle), (error) => hasErrorCode(error, 'NOT_FOUND'));
        assert.deepEqual(target.currentReplicas?.(handle) ?? [], []);
        for (const url of last) await assert.rejects(send(`${url}/`, { keepAlive: false }), `${url} answers`);
        assert.deepEqual((await options.leftovers?.(handles)) ?? [], []);
        await target.remove(handle);
      });
    });
  });
}
