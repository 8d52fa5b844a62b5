import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import {
  applySpecEdits,
  parseDeploymentYaml,
  parseEndpointYaml,
  resolveAuthMode,
  resolveDeploymentSettings,
} from '../../src/core/specs/index.js';
import { formatSpecIssue } from '../../src/core/yaml.js';
import { repoRoot } from '../fixtures/paths.js';

const examples = join(repoRoot, 'examples', 'endpoints');

function rejectsWith(run: () => unknown, lines: RegExp[]): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(hasErrorCode(error, 'INVALID_SPEC'), String(error));
    for (const line of lines) assert.match(error.message, line);
    return true;
  });
}

describe('endpoint and deployment YAML', () => {
  it('accepts every example in examples/endpoints with no warning', async () => {
    const folders = await readdir(examples);
    let checked = 0;
    for (const folder of folders) {
      for (const file of await readdir(join(examples, folder))) {
        if (!file.endsWith('.yml')) continue;
        const text = await readFile(join(examples, folder, file), 'utf8');
        const parsed = file.startsWith('endpoint')
          ? parseEndpointYaml(text, file)
          : parseDeploymentYaml(text, file);
        assert.deepEqual(parsed.warnings.map(formatSpecIssue), [], `${folder}/${file}`);
        checked += 1;
      }
    }
    assert.ok(checked >= 3, `found ${checked} example files`);
  });

  it('accepts an Azure kubernetesOnlineDeployment, warning about every field local ignores', () => {
    const text = `$schema: https://azuremlschemas.azureedge.net/latest/kubernetesOnlineDeployment.schema.json
name: blue
type: kubernetes
endpoint_name: k8s-endpoint
model: azureml:sklearn-model:1
code_configuration:
  code: ../model-1/onlinescoring/
  scoring_script: score.js
environment:
  conda_file: ../model-1/environment/conda.yaml
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
request_settings:
  request_timeout_ms: 3000
  max_queue_wait_ms: 3000
resources:
  requests:
    cpu: "0.1"
    memory: "0.1Gi"
  limits:
    cpu: "0.2"
    nvidia.com/gpu: 0
    memory: "0.2Gi"
tags:
  tag1: deployment-tag1-value
instance_count: 1
scale_settings:
  type: default
app_insights_enabled: true
instance_type: defaultinstancetype
data_collector:
  collections:
    model_inputs:
      enabled: 'True'
  rolling_rate: Hour
`;
    const { spec, warnings } = parseDeploymentYaml(text, 'k8s.yml');
    const byPath = new Map(warnings.map((w) => [w.path, formatSpecIssue(w)]));
    assert.match(byPath.get('environment') ?? '', /^k8s\.yml:9: environment: ignored on target "local"/);
    // local autoscales (targets/autoscale): scale_settings is honoured there, with no warning.
    assert.equal(byPath.get('scale_settings'), undefined);
    assert.match(byPath.get('app_insights_enabled') ?? '', /^k8s\.yml:28: /);
    assert.match(byPath.get('instance_type') ?? '', /^k8s\.yml:29: /);
    assert.match(byPath.get('data_collector.rolling_rate') ?? '', /^k8s\.yml:34: /);
    const settings = resolveDeploymentSettings(spec);
    assert.equal(settings.requestSettings.requestTimeoutMs, 3000);
    assert.deepEqual(settings.resources, { cpu: 0.2, memoryBytes: Math.round(0.2 * 1024 ** 3), gpu: 0 });
    assert.deepEqual(settings.dataCollection, { enabled: true, samplingRate: 1 });
  });

  it('reports every wrong field at once, with its line', () => {
    const text = `name: ocr
auth_mode: password
traffic:
  blue: ninety
  green: 140
mirror_traffic: lots
`;
    rejectsWith(
      () => parseEndpointYaml(text, 'endpoint.yml'),
      [
        /^4 problems in the spec:/,
        /^endpoint\.yml:2: auth_mode: expected key, aml_token or none, got "password"$/m,
        /^endpoint\.yml:4: traffic\.blue: expected a number from 0 to 100, got "ninety"$/m,
        /^endpoint\.yml:5: traffic\.green: expected a number from 0 to 100, got 140$/m,
        /^endpoint\.yml:6: mirror_traffic: expected a mapping of deployment names to percentages, got "lots"$/m,
      ],
    );
  });

  it('names missing and mistyped deployment fields, nested ones included', () => {
    const text = `name: blue
endpoint_name: ocr
model: ocr-cls:1
request_settings:
  request_timeout_ms: soon
liveness_probe:
  period: 2.5
resources:
  limits:
    memory: lots
`;
    rejectsWith(
      () => parseDeploymentYaml(text, 'blue.yml'),
      [
        /^blue\.yml:1: instance_count: is required$/m,
        /^blue\.yml:5: request_settings\.request_timeout_ms: expected a number, got "soon"$/m,
        /^blue\.yml:7: liveness_probe\.period: expected a period in whole seconds, got 2\.5$/m,
        /^blue\.yml:10: resources\.limits\.memory: expected a memory size, e\.g\. "512Mi" or "2Gi", got "lots"$/m,
      ],
    );
  });

  it('reports broken YAML with its line, and unknown fields as warnings', () => {
    rejectsWith(
      () => parseEndpointYaml('name: ocr\ntraffic: [blue\n', 'bad.yml'),
      [/^bad\.yml:\d+: invalid YAML/],
    );
    const { spec, warnings } = parseEndpointYaml('name: ocr\nauth_mode: aml_token\ncolour: blue\n', 'e.yml');
    assert.equal(resolveAuthMode(spec, 'local'), 'key');
    assert.deepEqual(warnings.map(formatSpecIssue), [
      'e.yml:3: colour: unknown field, ignored',
      "e.yml:2: auth_mode: aml_token is Azure's token mode: berth serves the endpoint with keys (auth_mode key)",
    ]);
  });

  it('takes names from the command line, and refuses auth_mode none off the local target', () => {
    const { spec } = parseEndpointYaml('auth_mode: none\n', 'e.yml', { name: 'cli-name' });
    assert.equal(spec.name, 'cli-name');
    assert.equal(resolveAuthMode(spec, 'local'), 'none');
    assert.throws(() => resolveAuthMode(spec, 'kubernetes'), /only allowed on the local target/);
    rejectsWith(
      () => parseEndpointYaml('description: x\n', 'e.yml'),
      [/e\.yml: name: is required \(in the file or as --name\)/],
    );
  });

  it('fills Azure defaults, in ms, and raises concurrency only when batching', () => {
    const plain = resolveDeploymentSettings(
      parseDeploymentYaml('name: a\nendpoint_name: e\nmodel: m:1\ninstance_count: 2\n', 'a.yml').spec,
    );
    assert.deepEqual(plain.requestSettings, {
      requestTimeoutMs: 5000,
      maxConcurrentRequestsPerInstance: 1,
      maxQueueWaitMs: 500,
    });
    assert.deepEqual(plain.livenessProbe, {
      initialDelayMs: 10_000,
      periodMs: 10_000,
      timeoutMs: 2000,
      successThreshold: 1,
      failureThreshold: 30,
    });
    assert.deepEqual(plain.batching, { enabled: false, maxBatchSize: 8, maxQueueDelayMs: 2 });
    const batched = resolveDeploymentSettings(
      parseDeploymentYaml(
        'name: a\nendpoint_name: e\nmodel: m:1\ninstance_count: 1\nbatching:\n  enabled: true\n  max_batch_size: 16\n',
        'a.yml',
      ).spec,
    );
    assert.equal(batched.requestSettings.maxConcurrentRequestsPerInstance, 32);
  });

  it('applies --set edits with dotted paths and validates the result', () => {
    const { spec } = parseDeploymentYaml(
      'name: a\nendpoint_name: e\nmodel: m:1\ninstance_count: 1\n',
      'a.yml',
    );
    const edited = applySpecEdits(spec, ['instance_count=3', 'request_settings.request_timeout_ms=2000']);
    assert.equal(edited.instance_count, 3);
    assert.equal(edited.request_settings?.request_timeout_ms, 2000);
    assert.equal(spec.instance_count, 1, 'the stored spec is not changed');
    assert.throws(
      () => applySpecEdits(spec, ['instance_count=many']),
      /instance_count: expected a whole number of instances/,
    );
    assert.throws(() => applySpecEdits(spec, ['name=other']), /names cannot change/);
    assert.throws(() => applySpecEdits(spec, ['instance_count']), /use key=value/);
  });
});
