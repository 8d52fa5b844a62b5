/**
 * No setting is dropped silently: every field of the deployment spec and of the resolved
 * deployment a target runs is placed by src/core/specs/applicability.ts (read by the target,
 * ignored with a warning, or checked against the capabilities table) for every kind whose
 * real-time serving works, and what the file claims is held against the code: a warned field
 * changes nothing a replica is given, a field read through the scoring-server options does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import {
  deploymentFieldRules,
  deploymentFieldWarnings,
  deploymentMetadataFields,
  resolvedFieldUse,
  resolvedFrom,
  resolvedUse,
} from '../../src/core/specs/applicability.js';
import { deploymentSpecSchema, type DeploymentSpec } from '../../src/core/specs/deployment.js';
import { resolveDeploymentSettings } from '../../src/core/specs/settings.js';
import { formatSpecIssue } from '../../src/core/yaml.js';
import { targetCapabilities } from '../../src/targets/capabilities.js';
import { replicaEnvironment } from '../../src/targets/local/environment.js';
import { scoringOptionsFor } from '../../src/targets/shared/scoring-options.js';
import { targetKinds, type ResolvedDeployment } from '../../src/targets/target.js';
import { validateForTarget } from '../../src/targets/validate.js';
import { linearDeployment } from './helpers.js';

const realtimeKinds = targetKinds.filter((kind) => targetCapabilities[kind].work.realtime === 'ready');

/** Every field path of a zod object schema, down to the leaves (records, unions and scalars). */
function schemaPaths(schema: z.ZodType, prefix = ''): { path: string; leaf: boolean }[] {
  let def = (
    schema as unknown as { def: { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType> } }
  ).def;
  while (def.innerType !== undefined && ['optional', 'default', 'nullable', 'prefault'].includes(def.type)) {
    def = (def.innerType as unknown as { def: typeof def }).def;
  }
  if (def.type !== 'object' || def.shape === undefined) return [{ path: prefix, leaf: true }];
  const found: { path: string; leaf: boolean }[] = prefix === '' ? [] : [{ path: prefix, leaf: false }];
  for (const [key, child] of Object.entries(def.shape)) {
    found.push(...schemaPaths(child, prefix === '' ? key : `${prefix}.${key}`));
  }
  return found;
}

/** Every leaf path of a resolved deployment (plain objects are walked; arrays and scalars are leaves). */
function objectLeaves(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([key, child]) =>
    objectLeaves(child, prefix === '' ? key : `${prefix}.${key}`),
  );
}

function placedInSpec(path: string): boolean {
  const parts = path.split('.');
  return parts.some((_, index) => {
    const head = parts.slice(0, index + 1).join('.');
    return head in deploymentMetadataFields || head in resolvedFrom || head in deploymentFieldRules;
  });
}

/** A spec that sets every field the schema has, as an Azure file might. */
const everything: DeploymentSpec = {
  $schema: 'https://azuremlschemas.azureedge.net/latest/kubernetesOnlineDeployment.schema.json',
  name: 'blue',
  endpoint_name: 'shop',
  description: 'all fields',
  tags: { team: 'x' },
  properties: { a: 1 },
  type: 'kubernetes',
  model: 'linear:1',
  code_configuration: { code: '.', scoring_script: 'score.js' },
  environment: { image: 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest' },
  environment_variables: { A: '1' },
  instance_type: 'Standard_DS3_v2',
  instance_count: 2,
  request_settings: {
    request_timeout_ms: 3000,
    max_concurrent_requests_per_instance: 2,
    max_queue_wait_ms: 100,
  },
  liveness_probe: { initial_delay: 1, period: 2, timeout: 3, success_threshold: 1, failure_threshold: 4 },
  readiness_probe: { initial_delay: 1, period: 2, timeout: 3, success_threshold: 2, failure_threshold: 4 },
  scale_settings: { type: 'target_utilization', min_instances: 1, max_instances: 3 },
  resources: {
    requests: { cpu: '1', memory: '1Gi' },
    limits: { cpu: '2', memory: '2Gi', 'nvidia.com/gpu': 0 },
  },
  data_collector: {
    collections: { model_inputs: { enabled: true } },
    sampling_rate: 0.5,
    rolling_rate: 'Hour',
    request_logging: { capture_headers: ['x'] },
  },
  app_insights_enabled: true,
  egress_public_network_access: 'disabled',
  model_mount_path: '/models',
  target: 'local',
  batching: { enabled: true, max_batch_size: 4, max_queue_delay_ms: 3 },
};

function resolve(spec: DeploymentSpec): ResolvedDeployment {
  return { ...linearDeployment('/tmp/berth-settings-walk'), ...resolveDeploymentSettings(spec) };
}

describe('every setting is used by the target or warned about', () => {
  it('places every field of the spec schema', () => {
    const unplaced = schemaPaths(deploymentSpecSchema)
      .filter(({ path, leaf }) => leaf && !placedInSpec(path))
      .map(({ path }) => path);
    assert.deepEqual(unplaced, [], 'spec fields applicability.ts does not place');
    // The example sets every top-level field, so the walks below see them all.
    const topLevel = schemaPaths(deploymentSpecSchema).filter(({ path }) => !path.includes('.'));
    assert.deepEqual(
      topLevel.map(({ path }) => path).filter((path) => !(path in everything)),
      [],
    );
  });

  it('places every field of the resolved deployment, for every kind that serves real-time', () => {
    const resolved = resolve(everything);
    const leaves = objectLeaves(resolved);
    assert.ok(
      leaves.includes('requestSettings.maxQueueWaitMs') && leaves.includes('dataCollection.samplingRate'),
    );
    for (const kind of realtimeKinds) {
      const unplaced = leaves.filter((path) => resolvedUse(path, kind) === undefined);
      assert.deepEqual(unplaced, [], `resolved fields with no use on ${kind}`);
    }
    // Nothing in the tables points at a field that no longer exists.
    const exists = (path: string) => leaves.some((leaf) => leaf === path || leaf.startsWith(`${path}.`));
    for (const path of [...Object.keys(resolvedFieldUse), ...Object.values(resolvedFrom).flat()]) {
      assert.ok(exists(path), `${path} is not a field of the resolved deployment`);
    }
  });

  it('warns, on each kind, about exactly the fields the tables say it ignores', () => {
    for (const kind of realtimeKinds) {
      const warned = deploymentFieldWarnings(everything, { name: kind, kind }, 'd.yml', () => 7).map(
        (issue) => issue.path,
      );
      const expected = [
        ...Object.entries(deploymentFieldRules)
          .filter(([, rule]) => !rule.honouredBy.includes(kind))
          .map(([field]) => field),
        ...Object.entries(resolvedFrom)
          .filter(
            ([field, into]) =>
              !(field in deploymentFieldRules) && into.some((p) => resolvedUse(p, kind)?.use === 'ignored'),
          )
          .map(([field]) => field),
        // The file says `type: kubernetes`: every other kind warns that it is not a Kubernetes target.
        ...(kind === 'kubernetes' ? [] : ['type']),
      ];
      assert.deepEqual([...warned].sort(), [...new Set(expected)].sort(), kind);
    }
  });

  it('says what max_queue_wait_ms and environment do not do, on the target the file goes to', () => {
    const spec: DeploymentSpec = {
      model: 'linear:1',
      instance_count: 1,
      request_settings: { max_queue_wait_ms: 100 },
      environment: 'azureml:sklearn-env:1',
    };
    const on = (name: string, kind: string) =>
      deploymentFieldWarnings(spec, { name, kind }, 'blue.yml', (path) =>
        path[0] === 'environment' ? 5 : 9,
      ).map(formatSpecIssue);
    assert.deepEqual(on('dev-docker', 'container'), [
      "blue.yml:5: environment: ignored on target \"dev-docker\" (container): the image is built from the target's base image (berth target create --base-image, default node:20-bookworm-slim) with berth's scoring server: an Azure environment's image is not used (for a Python scoring script, its conda_file's dependencies are installed from this machine's Debian packages)",
      'blue.yml:9: request_settings.max_queue_wait_ms: ignored on target "dev-docker" (container): a queued request waits at most request_timeout_ms, which counts the time in the queue (Azure deprecated max_queue_wait_ms for the same reason)',
    ]);
    assert.match(
      on('local', 'local')[0]!,
      /^blue\.yml:5: environment: ignored on target "local": replicas run berth's scoring server/,
    );
    assert.equal(on('local', 'local').length, 2);
  });

  it('a warned field changes neither the scoring-server options nor the replica environment', () => {
    const base = resolve(everything);
    const changed: ResolvedDeployment = {
      ...base,
      requestSettings: {
        ...base.requestSettings,
        maxQueueWaitMs: base.requestSettings.maxQueueWaitMs + 1234,
      },
      livenessProbe: { ...base.livenessProbe, successThreshold: base.livenessProbe.successThreshold + 5 },
    };
    assert.deepEqual(
      scoringOptionsFor(changed, '127.0.0.1', '/d'),
      scoringOptionsFor(base, '127.0.0.1', '/d'),
    );
    assert.deepEqual(replicaEnvironment(changed, 'r0', 't'), replicaEnvironment(base, 'r0', 't'));
  });

  it('a field read through the scoring-server options changes them', () => {
    const base = resolve(everything);
    const options = (spec: ResolvedDeployment) => JSON.stringify(scoringOptionsFor(spec, '127.0.0.1', '/d'));
    const variants: [string, ResolvedDeployment][] = [
      [
        'requestSettings.requestTimeoutMs',
        { ...base, requestSettings: { ...base.requestSettings, requestTimeoutMs: 999 } },
      ],
      [
        'requestSettings.maxConcurrentRequestsPerInstance',
        { ...base, requestSettings: { ...base.requestSettings, maxConcurrentRequestsPerInstance: 7 } },
      ],
      ['batching.maxBatchSize', { ...base, batching: { ...base.batching, maxBatchSize: 3 } }],
      ['batching.maxQueueDelayMs', { ...base, batching: { ...base.batching, maxQueueDelayMs: 9 } }],
      ['batching.enabled', { ...base, batching: { ...base.batching, enabled: false } }],
      ['dataCollection.samplingRate', { ...base, dataCollection: { enabled: true, samplingRate: 0.25 } }],
      ['dataCollection.enabled', { ...base, dataCollection: undefined }],
      ['scoringScript', { ...base, scoringScript: '/code/other.js' }],
      ['resources.cpu', { ...base, resources: { ...base.resources, cpu: 4 } }],
      ['resources.gpu', { ...base, resources: { ...base.resources, gpu: 1 } }],
      ['model.modelFile', { ...base, model: { ...base.model, modelFile: '/other.onnx' } }],
    ];
    for (const [path, variant] of variants) {
      assert.equal(resolvedUse(path, 'local')?.use, 'read', path);
      assert.notEqual(options(variant), options(base), `${path} is said to be read, yet changes no option`);
    }
    assert.notDeepEqual(
      replicaEnvironment({ ...base, environmentVariables: { B: '2' } }, 'r0', 't'),
      replicaEnvironment(base, 'r0', 't'),
    );
  });

  it('a field left to the deploy-time check is checked there', () => {
    const base = linearDeployment('/tmp/berth-settings-walk');
    const checks: Record<string, { spec: ResolvedDeployment; says: RegExp }> = {
      'resources.memoryBytes': {
        spec: { ...base, resources: { ...base.resources, memoryBytes: 1024 ** 3 } },
        says: /resources\.memory/,
      },
      'resources.gpu': {
        spec: { ...base, resources: { ...base.resources, gpu: 1 } },
        says: /resources\.gpu/,
      },
    };
    for (const kind of realtimeKinds) {
      for (const [path, use] of Object.entries(resolvedFieldUse)) {
        if ((use[kind] ?? use['*'])?.use !== 'checked') continue;
        const check = checks[path];
        assert.ok(check !== undefined, `${path} on ${kind}: say here how validate.ts checks it`);
        let said: string;
        try {
          said = validateForTarget(check.spec, targetCapabilities[kind], kind).join('\n');
        } catch (error) {
          said = (error as Error).message;
        }
        assert.match(said, check.says, `${kind} ${path}`);
      }
    }
  });
});
