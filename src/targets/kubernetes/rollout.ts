/**
 * Follows one deployment through watches (its Deployment and its pods), not polls: every event
 * recomputes the state (state.ts) and reports a changed reason to `progress`. The wait ends when
 * the rollout is available, at once when a pod hits a reason that waiting will not clear
 * (ImagePullBackOff, CrashLoopBackOff, OOMKilled…), after `graceMs` of a reason that may clear
 * (Unschedulable: an autoscaler may add a node), or at the timeout with the last reason seen.
 */
import { BerthError } from '../../core/errors.js';
import type { DeploymentStatus, Progress } from '../target.js';
import type { Cluster } from './client.js';
import { deploymentStatus, type DeploymentView, type PodView } from './state.js';

export interface RolloutWait {
  name: string;
  selector: string;
  timeoutMs: number;
  graceMs: number;
  progress: Progress;
  signal?: AbortSignal;
}

interface Named {
  metadata?: { name?: string };
}

/** Watches `path` until stopped, starting again when the server ends a watch (they time out). */
export async function follow(
  cluster: Cluster,
  path: string,
  query: Record<string, string>,
  onEvent: (type: string, object: unknown) => void,
  stopped: () => boolean,
  onError: (error: unknown) => void,
): Promise<() => void> {
  let controller: AbortController | undefined;
  const start = async (): Promise<void> => {
    if (stopped()) return;
    try {
      controller = await cluster.watch(path, query, onEvent, (error) => {
        if (stopped()) return;
        if (error !== null && error !== undefined && (error as { name?: string }).name !== 'AbortError') {
          onError(error);
          return;
        }
        void start();
      });
    } catch (error) {
      onError(error);
    }
  };
  await start();
  return () => controller?.abort();
}

export async function waitForRollout(cluster: Cluster, wait: RolloutWait): Promise<DeploymentStatus> {
  const pods = new Map<string, PodView>();
  let deployment: DeploymentView | undefined;
  let done = false;
  let lastReason: string | undefined;
  let troubleSince: number | undefined;
  let latest: DeploymentStatus = { state: 'Creating', reason: 'waiting for the cluster', replicas: [] };
  const namespacePath = `/namespaces/${cluster.namespace}`;

  return await new Promise<DeploymentStatus>((resolve, reject) => {
    const stops: (() => void)[] = [];
    const finish = (error: unknown, status?: DeploymentStatus) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(graceTimer);
      wait.signal?.removeEventListener('abort', onAbort);
      for (const stop of stops) stop();
      if (status !== undefined) resolve(status);
      else reject(error instanceof Error ? error : new BerthError('INTERNAL', String(error)));
    };
    const failWith = (status: DeploymentStatus, why: string) =>
      finish(
        new BerthError('RUN_FAILED', `deployment ${wait.name}: ${why}: ${status.reason ?? status.state}`),
      );
    const evaluate = () => {
      if (done) return;
      latest = deploymentStatus(deployment, [...pods.values()]);
      if (latest.reason !== lastReason) {
        lastReason = latest.reason;
        wait.progress(`${latest.state}${latest.reason === undefined ? '' : `: ${latest.reason}`}`);
      }
      if (deployment !== undefined && latest.state === 'Healthy') return finish(undefined, latest);
      if (latest.state === 'Failed' && deployment !== undefined)
        return failWith(latest, 'the cluster reports');
      if (latest.state === 'Unhealthy') troubleSince ??= Date.now();
      else troubleSince = undefined;
      if (troubleSince !== undefined && Date.now() - troubleSince >= wait.graceMs) {
        failWith(latest, `still not schedulable or not starting after ${Math.round(wait.graceMs / 1000)} s`);
      }
    };
    const onAbort = () =>
      finish(new BerthError('SHUTTING_DOWN', `deployment ${wait.name}: the wait was cancelled`));
    const timer = setTimeout(
      () => failWith(latest, `not available after ${Math.round(wait.timeoutMs / 1000)} s`),
      wait.timeoutMs,
    );
    // A reason that stands still sends no event: the grace period is checked on a clock too.
    const graceTimer = setInterval(evaluate, Math.max(250, Math.min(wait.graceMs, 5000)));
    if (wait.signal?.aborted === true) return onAbort();
    wait.signal?.addEventListener('abort', onAbort);
    const onError = (error: unknown) => finish(error);
    const stopped = () => done;
    void follow(
      cluster,
      `/apis/apps/v1${namespacePath}/deployments`,
      { fieldSelector: `metadata.name=${wait.name}` },
      (type, object) => {
        deployment = type === 'DELETED' ? undefined : (object as DeploymentView);
        evaluate();
      },
      stopped,
      onError,
    ).then((stop) => (done ? stop() : stops.push(stop)));
    void follow(
      cluster,
      `/api/v1${namespacePath}/pods`,
      { labelSelector: wait.selector },
      (type, object) => {
        const name = (object as Named).metadata?.name ?? '';
        if (type === 'DELETED') pods.delete(name);
        else pods.set(name, object as PodView);
        evaluate();
      },
      stopped,
      onError,
    ).then((stop) => (done ? stop() : stops.push(stop)));
  });
}
