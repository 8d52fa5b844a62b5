/**
 * The rights berth needs in a namespace, as a Role (and a RoleBinding for a service account): what
 * the README documents and the tests run berth with. Nothing cluster-wide: discovery is open to
 * every authenticated user (system:discovery), and berth touches only its namespace.
 */
import type { KubeObject } from './objects.js';

const manage = ['get', 'list', 'watch', 'create', 'patch', 'delete'];
const read = ['get', 'list', 'watch'];

export const berthRoleRules = [
  { apiGroups: [''], resources: ['configmaps', 'secrets', 'services'], verbs: manage },
  { apiGroups: ['apps'], resources: ['deployments'], verbs: manage },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: manage },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: manage },
  // Batch jobs: the Job of their workers (its Secret is among the secrets above).
  { apiGroups: ['batch'], resources: ['jobs'], verbs: manage },
  // The in-cluster gateway (`gateway: in-cluster`): its service account and the Role it reads pods
  // and its ConfigMap and Secrets with (a Role grants no more than berth holds itself).
  { apiGroups: [''], resources: ['serviceaccounts'], verbs: manage },
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: manage },
  // Read only: state, logs, and the check that removal left nothing.
  { apiGroups: ['apps'], resources: ['replicasets'], verbs: read },
  { apiGroups: [''], resources: ['pods', 'events'], verbs: read },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
];

/** A Role named `berth` with berth's rights in `namespace`, bound to `serviceAccount` there. */
export function berthRbac(namespace: string, serviceAccount = 'berth'): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccount, namespace } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'berth', namespace },
      rules: berthRoleRules,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'berth', namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'berth' },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
    },
  ];
}
