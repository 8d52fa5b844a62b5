/**
 * The in-cluster gateway's pure parts: its objects (labels, RBAC rules naming exactly its ConfigMap
 * and the Secrets it reads, a pod template that holds nothing of the routing), the config its
 * ConfigMap holds (deployments on other targets have no objects here; stable text and sha256), and
 * the refusal of a config that does not parse.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import {
  gatewayConfigKey,
  keysSha256,
  parseGatewayConfig,
} from '../../src/targets/kubernetes/gateway-config.js';
import { gatewayManifests, gatewayName } from '../../src/targets/kubernetes/gateway-manifests.js';
import type { KubeObject } from '../../src/targets/kubernetes/objects.js';
import { berthRoleRules } from '../../src/targets/kubernetes/rbac.js';
import type { EndpointRouting } from '../../src/targets/target.js';

// Manifests are open-ended documents: the tests read them as plain JSON.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

function find(objects: KubeObject[], kind: string): Loose {
  const found = objects.find((object) => object.kind === kind);
  assert.ok(found, `no ${kind}`);
  return found;
}

const settings = {
  target: 'prod',
  namespace: 'ml',
  image: 'registry.example.com/ml/berth-gateway:abc',
  replicas: 2,
  imagePullSecret: 'regcred',
};

function routing(overrides: Partial<EndpointRouting> = {}): EndpointRouting {
  const deployment = { requestTimeoutMs: 5000, maxConcurrentRequestsPerInstance: 4, instanceCount: 2 };
  return {
    authMode: 'key',
    keys: { primary: 'p-key', secondary: 's-key' },
    traffic: { blue: 70, green: 30 },
    mirror: {},
    deployments: [
      { name: 'blue', target: 'prod', deployed: true, ...deployment },
      { name: 'green', target: 'prod', deployed: true, ...deployment },
      { name: 'laptop', target: 'local', deployed: true, ...deployment },
    ],
    ...overrides,
  };
}

describe('in-cluster gateway manifests', () => {
  it('makes a Deployment, Service, ServiceAccount, Role, RoleBinding, ConfigMap and Secret, labelled as the gateway', () => {
    const { objects, name, labels } = gatewayManifests(settings, 'shop', routing());
    assert.equal(name, 'berth-gateway-shop');
    assert.deepEqual(
      objects.map((object) => object.kind),
      ['ServiceAccount', 'Role', 'RoleBinding', 'Secret', 'ConfigMap', 'Deployment', 'Service'],
      'the keys are applied before the config that names them',
    );
    assert.deepEqual(labels, {
      'app.kubernetes.io/managed-by': 'berth',
      'berth.dev/target': 'prod',
      'berth.dev/endpoint': 'shop',
      'berth.dev/component': 'gateway',
    });
    for (const object of objects) {
      assert.equal(object.metadata.name, name);
      assert.equal(object.metadata.namespace, 'ml');
      assert.deepEqual(object.metadata.labels, labels);
      assert.equal((object.metadata.labels as Record<string, string>)['berth.dev/deployment'], undefined);
    }
    const deployment = find(objects, 'Deployment');
    assert.equal(deployment.spec.replicas, 2);
    assert.deepEqual(deployment.spec.selector.matchLabels, labels);
    const pod = deployment.spec.template.spec;
    assert.equal(pod.serviceAccountName, name);
    assert.deepEqual(pod.imagePullSecrets, [{ name: 'regcred' }]);
    const container = pod.containers[0];
    assert.equal(container.image, settings.image);
    assert.deepEqual(
      container.env.map((env: Loose) => env.name),
      ['BERTH_GATEWAY_CONFIG', 'BERTH_NAMESPACE', 'BERTH_STOP_DELAY_MS'],
    );
    // It routes on for the stop delay after SIGTERM, then drains up to 30 s, inside its grace.
    assert.equal(container.env[2].value, '3000');
    assert.equal(pod.terminationGracePeriodSeconds, 43);
    assert.equal(container.readinessProbe.httpGet.path, '/ready');
    const service = find(objects, 'Service');
    assert.deepEqual(service.spec.selector, labels);
    assert.deepEqual(service.spec.ports[0], { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' });
  });

  it('gives the gateway read rights on pods, its ConfigMap and the Secrets it needs, by name', () => {
    const { objects } = gatewayManifests(settings, 'shop', routing());
    const role = find(objects, 'Role');
    assert.deepEqual(role.rules, [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: ['berth-gateway-shop'],
        verbs: ['get', 'list', 'watch'],
      },
      // Its keys, and the replica tokens of the deployments in this cluster (not `laptop`'s).
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: ['berth-gateway-shop', 'shop-blue', 'shop-green'],
        verbs: ['get'],
      },
    ]);
    const binding = find(objects, 'RoleBinding');
    assert.deepEqual(binding.roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'berth-gateway-shop',
    });
    assert.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: 'berth-gateway-shop', namespace: 'ml' },
    ]);
    // berth may create that Role and its binding: its own Role covers them.
    const covers = (resource: string) =>
      berthRoleRules.some((rule) => rule.resources.includes(resource) && rule.verbs.includes('patch'));
    for (const resource of ['serviceaccounts', 'roles', 'rolebindings', 'configmaps', 'secrets'])
      assert.ok(covers(resource), resource);
  });

  it('holds the routing in the ConfigMap and the keys in the Secret, never in the pod template', () => {
    const first = gatewayManifests(settings, 'shop', routing());
    const config = parseGatewayConfig(find(first.objects, 'ConfigMap').data[gatewayConfigKey]);
    assert.deepEqual(config.traffic, { blue: 70, green: 30 });
    assert.equal(config.keysSha256, keysSha256({ primary: 'p-key', secondary: 's-key' }));
    assert.deepEqual(
      config.deployments.map((deployment) => [deployment.name, deployment.object, deployment.selector]),
      [
        [
          'blue',
          'shop-blue',
          'app.kubernetes.io/managed-by=berth,berth.dev/target=prod,berth.dev/endpoint=shop,berth.dev/deployment=blue',
        ],
        [
          'green',
          'shop-green',
          'app.kubernetes.io/managed-by=berth,berth.dev/target=prod,berth.dev/endpoint=shop,berth.dev/deployment=green',
        ],
        ['laptop', null, null],
      ],
    );
    const secret = find(first.objects, 'Secret');
    assert.equal(Buffer.from(secret.data['primary-key'], 'base64').toString(), 'p-key');
    assert.equal(JSON.stringify(find(first.objects, 'ConfigMap')).includes('p-key'), false);
    assert.equal(
      find(first.objects, 'ConfigMap').metadata.annotations['berth.dev/gateway-config-sha256'],
      first.configSha256,
    );

    // A traffic change: a new ConfigMap, the same pod template (the pods follow it, no restart).
    const second = gatewayManifests(settings, 'shop', routing({ traffic: { blue: 10, green: 90 } }));
    assert.notEqual(second.configSha256, first.configSha256);
    assert.deepEqual(find(second.objects, 'Deployment'), find(first.objects, 'Deployment'));
    // The same routing in another key order: the same text.
    const reordered = gatewayManifests(settings, 'shop', routing({ traffic: { green: 30, blue: 70 } }));
    assert.equal(reordered.configSha256, first.configSha256);

    const open = gatewayManifests(settings, 'shop', routing({ authMode: 'none', keys: undefined }));
    assert.deepEqual(find(open.objects, 'Secret').data, {});
    assert.equal(parseGatewayConfig(find(open.objects, 'ConfigMap').data[gatewayConfigKey]).keysSha256, '');
  });

  it('names the gateway as a DNS label, and refuses a config that does not parse, naming the field', () => {
    assert.equal(gatewayName('shop'), 'berth-gateway-shop');
    const long = gatewayName(`Shop_${'x'.repeat(80)}`);
    assert.match(long, /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    assert.notEqual(long, gatewayName(`Shop_${'x'.repeat(81)}`));
    assert.throws(
      () => parseGatewayConfig('{"endpoint":"shop"'),
      (error) => hasErrorCode(error, 'INVALID_SPEC') && /not JSON/.test((error as Error).message),
    );
    const text = find(gatewayManifests(settings, 'shop', routing()).objects, 'ConfigMap').data[
      gatewayConfigKey
    ];
    const broken = JSON.parse(text);
    broken.traffic.blue = 'seventy';
    assert.throws(
      () => parseGatewayConfig(JSON.stringify(broken)),
      (error) => hasErrorCode(error, 'INVALID_SPEC') && /traffic\.blue/.test((error as Error).message),
    );
  });
});
