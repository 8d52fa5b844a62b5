/**
 * Least outstanding requests across a deployment's ready replicas: the gateway counts what it has
 * sent to each replica URL and not yet seen answered. Ties rotate, so idle replicas share work.
 */
import type { ReplicaStatus } from '../targets/target.js';
import { withReplicaToken } from './replica-token.js';

export interface ReadyReplica {
  id: string;
  /** The replica's URL, with its token as the password when it has one (see replica-token.ts). */
  url: string;
}

export class Balancer {
  private readonly outstanding = new Map<string, number>();
  private turn = 0;

  pick(
    replicas: readonly ReplicaStatus[],
    exclude: ReadonlySet<string> = new Set(),
  ): ReadyReplica | undefined {
    let best: ReadyReplica[] = [];
    let least = Infinity;
    for (const replica of replicas) {
      if (replica.state !== 'ready' || replica.url === undefined) continue;
      const url = withReplicaToken(replica.url, replica.token);
      if (exclude.has(url)) continue;
      const count = this.outstanding.get(url) ?? 0;
      if (count < least) {
        least = count;
        best = [{ id: replica.id, url }];
      } else if (count === least) {
        best.push({ id: replica.id, url });
      }
    }
    if (best.length === 0) return undefined;
    this.turn = (this.turn + 1) % 1_000_000;
    return best[this.turn % best.length];
  }

  begin(url: string): void {
    this.outstanding.set(url, (this.outstanding.get(url) ?? 0) + 1);
  }

  end(url: string): void {
    const count = (this.outstanding.get(url) ?? 1) - 1;
    if (count <= 0) this.outstanding.delete(url);
    else this.outstanding.set(url, count);
  }

  outstandingTo(url: string): number {
    return this.outstanding.get(url) ?? 0;
  }
}

/** Why no replica can take a request, for the 503 message. */
export function noReplicaReason(
  deployment: string,
  replicas: readonly ReplicaStatus[],
  expected: number,
): string {
  const ready = replicas.filter((replica) => replica.state === 'ready' && replica.url !== undefined).length;
  const others = replicas
    .filter((replica) => replica.state !== 'ready')
    .map(
      (replica) =>
        `${replica.id} ${replica.state}${replica.reason === undefined ? '' : ` (${replica.reason})`}`,
    );
  const detail =
    others.length > 0 ? `: ${others.join('; ')}` : replicas.length === 0 ? ': no replica is running' : '';
  return `deployment "${deployment}" has no ready replica (${ready} of ${expected} ready)${detail}`;
}
