/**
 * The pods of one deployment as the endpoint gateway sees them: listed once, then followed through
 * a watch (never polled), so `replicas()` answers without I/O on every request. A pod is a replica
 * at `http://<pod IP>:5001` with the deployment's token (from its Secret); it is `ready` while its
 * Ready condition holds, `draining` once it is being deleted (a rolling update's old pods), so the
 * gateway sends only to pods that serve. Pod IPs must be routable from where the gateway runs (on
 * a node of the cluster, or a host on the pods' network); see README.md.
 */
import type { ReplicaStatus } from '../target.js';
import type { Cluster } from './client.js';
import { tokenKey } from './manifests.js';
import { follow } from './rollout.js';
import { replicaOf, type PodView } from './state.js';

interface Named {
  metadata?: { name?: string };
}

export class PodWatch {
  private readonly pods = new Map<string, PodView>();
  private token: string | undefined;
  private stopWatch: (() => void) | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  /** Settles once the pods have been listed the first time (or the first try failed). */
  readonly ready: Promise<void>;

  constructor(
    private readonly cluster: Cluster,
    private readonly name: string,
    private readonly selector: string,
  ) {
    this.ready = this.start();
  }

  private async start(): Promise<void> {
    if (this.closed) return;
    try {
      await this.readToken();
      const listed = await this.cluster.list('v1', 'Pod', this.selector);
      this.pods.clear();
      for (const pod of listed) this.pods.set(pod.metadata.name, pod);
      this.stopWatch = await follow(
        this.cluster,
        `/api/v1/namespaces/${this.cluster.namespace}/pods`,
        { labelSelector: this.selector },
        (type, object) => {
          const name = (object as Named).metadata?.name ?? '';
          if (type === 'DELETED') this.pods.delete(name);
          else if (type === 'ADDED' || type === 'MODIFIED') this.pods.set(name, object as PodView);
          // A watch started before the deployment was applied (an in-cluster gateway) has no token yet.
          if (this.token === undefined && this.pods.size > 0) this.readTokenSoon();
        },
        () => this.closed,
        () => this.again(),
      );
      if (this.closed) this.stopWatch();
    } catch {
      this.again();
    }
  }

  private async readToken(): Promise<void> {
    const secret = await this.cluster.read({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: this.name },
    });
    const stored = (secret?.data as Record<string, string> | undefined)?.[tokenKey];
    this.token = stored === undefined ? undefined : Buffer.from(stored, 'base64').toString();
  }

  private reading: Promise<void> | undefined;

  private readTokenSoon(): void {
    this.reading ??= this.readToken()
      .catch(() => undefined)
      .finally(() => (this.reading = undefined));
  }

  /** A watch the server broke off (or a failed list) starts over after a second, from a fresh list. */
  private again(): void {
    if (this.closed) return;
    this.stopWatch?.();
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.start(), 1000);
  }

  replicas(): ReplicaStatus[] {
    return [...this.pods.values()].map((pod) => replicaOf(pod, this.token));
  }

  /**
   * Undefined when a ready pod answers its health route from this machine; otherwise why the
   * endpoint gateway (which sends to pod IPs) will not reach the pods from here.
   */
  async unreachable(timeoutMs = 3000): Promise<string | undefined> {
    const ready = this.replicas().find((replica) => replica.state === 'ready' && replica.url !== undefined);
    if (ready?.url === undefined) return undefined;
    try {
      await fetch(`${ready.url}/v2/health/live`, { signal: AbortSignal.timeout(timeoutMs) });
      return undefined;
    } catch (error) {
      return `pod ${ready.id} at ${ready.url} does not answer from this machine (${error instanceof Error ? error.message : String(error)}): the endpoint gateway sends to pod IPs, so run it where the pod network is routed (see the Kubernetes target's README)`;
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.stopWatch?.();
  }
}
