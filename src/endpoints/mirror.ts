/**
 * Mirrored requests: a copy of a live request sent to the mirror deployment after the live body
 * has arrived, fire and forget. The answer is read and dropped; nothing about it reaches the
 * client. Bounded: at most `maxInFlight` copies at once and bodies up to the replay buffer, the
 * rest are dropped (and counted), so a slow or failing mirror never costs the live path memory.
 */
import { request, type Agent, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { requestHeaders } from './headers.js';
import { replicaTarget } from './replica-token.js';

export interface MirrorCopy {
  url: string;
  path: string;
  method: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  timeoutMs: number;
  /** Called exactly once: whether the mirror answered 2xx. */
  onDone(ok: boolean): void;
}

export class Mirror {
  private readonly active = new Set<ClientRequest>();

  constructor(
    private readonly agent: Agent,
    readonly maxInFlight: number,
  ) {}

  get inFlight(): number {
    return this.active.size;
  }

  get full(): boolean {
    return this.active.size >= this.maxInFlight;
  }

  send(copy: MirrorCopy): void {
    const headers = requestHeaders(copy.headers, '', undefined);
    const target = replicaTarget(copy.url, copy.path, headers);
    headers.host = target.host;
    let settled = false;
    const settle = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.active.delete(outgoing);
      copy.onDone(ok);
    };
    headers['content-length'] = String(copy.body.length);
    headers['berth-mirrored'] = 'true';
    const outgoing = request(target, { method: copy.method, headers, agent: this.agent }, (answer) => {
      answer.resume();
      answer.on('end', () => settle((answer.statusCode ?? 500) < 400));
      answer.on('error', () => settle(false));
    });
    this.active.add(outgoing);
    const timer = setTimeout(() => {
      outgoing.destroy();
      settle(false);
    }, copy.timeoutMs);
    outgoing.on('error', () => settle(false));
    outgoing.on('close', () => settle(false));
    outgoing.end(copy.body);
  }

  /** Drops every copy in flight (the gateway is closing). */
  abortAll(): void {
    for (const outgoing of this.active) outgoing.destroy();
    this.active.clear();
  }
}
