/**
 * A deployment as a KServe InferenceService (v1beta1): the predictor runs berth's scoring server
 * container (the v2 protocol), with replicas from instance_count or scale_settings, and keeps the
 * ConfigMap and Secret the container reads; no Deployment, Service, PDB or HPA of berth's own.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { kserveManifests } from '../../src/targets/kubernetes/kserve.js';
import { deploymentManifests } from '../../src/targets/kubernetes/manifests.js';
import type { ResolvedDeployment } from '../../src/targets/target.js';
import { linearDeployment } from '../targets/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-k8s-kserve-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

function manifestsOf(spec: ResolvedDeployment) {
  const plain = deploymentManifests({
    spec,
    namespace: 'ml',
    image: 'registry.example.com/ml/berth-app:abc',
    imagePullSecret: 'regcred',
    token: 'secret-token',
    apis: { hpa: 'autoscaling/v2beta2', pdb: 'policy/v1beta1' },
  });
  return kserveManifests(spec, plain);
}

describe('KServe InferenceService', () => {
  const base = linearDeployment(dir, { target: 'prod', endpointName: 'shop', deploymentName: 'blue' });

  it("runs berth's scoring server as the predictor, beside its ConfigMap and Secret", () => {
    const spec: ResolvedDeployment = {
      ...base,
      instanceCount: 2,
      resources: { cpu: 1, memoryBytes: 2 ** 30, gpu: 1 },
    };
    const { objects, name } = manifestsOf(spec);
    assert.equal(name, 'shop-blue');
    assert.deepEqual(
      objects.map((object) => object.kind),
      ['ConfigMap', 'Secret', 'InferenceService'],
    );
    const service = objects[2] as Loose;
    assert.equal(service.apiVersion, 'serving.kserve.io/v1beta1');
    assert.equal(service.metadata.namespace, 'ml');
    assert.equal(service.metadata.labels['app.kubernetes.io/managed-by'], 'berth');
    const predictor = service.spec.predictor;
    assert.equal(predictor.minReplicas, 2);
    assert.equal(predictor.maxReplicas, 2);
    assert.deepEqual(predictor.imagePullSecrets, [{ name: 'regcred' }]);
    const [container] = predictor.containers;
    assert.equal(container.name, 'kserve-container');
    assert.equal(container.image, 'registry.example.com/ml/berth-app:abc');
    assert.deepEqual(container.ports, [{ name: 'http1', containerPort: 5001, protocol: 'TCP' }]);
    // The Open Inference Protocol v2 health routes, on the port by number (the port's name changed).
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/v2/health/ready', port: 5001 });
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/v2/health/live', port: 5001 });
    assert.equal(container.resources.limits['nvidia.com/gpu'], 1);
    assert.deepEqual(container.envFrom, [{ configMapRef: { name: 'shop-blue' } }]);
  });

  it('maps target_utilization scale settings onto its autoscaler, warning about the delays', () => {
    const spec = {
      ...base,
      scaleSettings: {
        type: 'target_utilization',
        minInstances: 0,
        maxInstances: 5,
        targetUtilizationPercentage: 60,
        pollingIntervalMs: 10_000,
        scaleDownDelayMs: 60_000,
      },
    } as ResolvedDeployment;
    const { objects, warnings } = manifestsOf(spec);
    const predictor = (objects[2] as Loose).spec.predictor;
    assert.deepEqual(
      [predictor.minReplicas, predictor.maxReplicas, predictor.scaleMetric, predictor.scaleTarget],
      [0, 5, 'cpu', 60],
    );
    assert.ok(!objects.some((object) => object.kind === 'HorizontalPodAutoscaler'));
    assert.ok(
      warnings.some((warning) => /delays are not honoured on KServe/.test(warning)),
      warnings.join('; '),
    );
    assert.ok(!warnings.some((warning) => /HorizontalPodAutoscaler keeps at least 1/.test(warning)));
  });
});
