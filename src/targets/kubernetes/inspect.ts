/**
 * Reads what `endpoint show` reports about one deployment, through the API server: the
 * Deployment, its HorizontalPodAutoscaler (in the version discovery chose), its ReplicaSets and
 * pods (by berth's labels), and the core/v1 events of each of them, selected by
 * `involvedObject.uid` (so a former object of the same name does not speak for this one). One
 * read per object, in parallel; the report keeps the most recent events (inspection.ts).
 */
import type { KubernetesDetails } from '../../core/specs/kubernetes-view.js';
import { apiError, type Cluster } from './client.js';
import { kubernetesDetails, type EventObject } from './inspection.js';
import type { KubeObject } from './objects.js';
import type { DeploymentView } from './state.js';

interface Owned {
  metadata: { uid?: string };
}

async function eventsOf(cluster: Cluster, uid: string): Promise<EventObject[]> {
  try {
    const list = await cluster.objects.list(
      'v1',
      'Event',
      cluster.namespace,
      undefined,
      undefined,
      undefined,
      `involvedObject.uid=${uid}`,
    );
    return list.items;
  } catch (error) {
    throw apiError(`listing the events of ${uid} in ${cluster.namespace}`, error);
  }
}

export async function inspectDeployment(
  cluster: Cluster,
  ref: { name: string; selector: string },
  limit?: number,
): Promise<KubernetesDetails> {
  const apis = await cluster.servedApis();
  const [deployment, hpa, replicaSets, pods] = await Promise.all([
    cluster.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: ref.name } }),
    cluster.read({ apiVersion: apis.hpa, kind: 'HorizontalPodAutoscaler', metadata: { name: ref.name } }),
    cluster.list('apps/v1', 'ReplicaSet', ref.selector),
    cluster.list('v1', 'Pod', ref.selector),
  ]);
  const involved: KubeObject[] = [deployment, hpa, ...replicaSets, ...pods].filter(
    (object): object is KubeObject => object !== undefined,
  );
  const uids = involved
    .map((object) => (object as Owned).metadata.uid)
    .filter((uid): uid is string => uid !== undefined);
  const events = (await Promise.all(uids.map((uid) => eventsOf(cluster, uid)))).flat();
  return kubernetesDetails({
    namespace: cluster.namespace,
    name: ref.name,
    deployment: deployment as DeploymentView | undefined,
    hpa: hpa === undefined ? undefined : { ...hpa, apiVersion: apis.hpa },
    pods,
    events,
    ...(limit === undefined ? {} : { limit }),
  });
}
