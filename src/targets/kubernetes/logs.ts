/**
 * Logs of a deployment's pods, through the API server's log endpoint (`timestamps=true`, so lines
 * of several pods merge in time order): the last `lines` lines, then, with `follow`, new lines
 * until the signal aborts. The scoring server writes everything to stdout in a pod.
 */
import { PassThrough } from 'node:stream';
import { Log } from '@kubernetes/client-node';
import type { LogLine, LogOptions } from '../target.js';
import { apiError, type Cluster } from './client.js';

function parse(pod: string, text: string): LogLine {
  const space = text.indexOf(' ');
  const time = space > 0 ? text.slice(0, space) : '';
  return {
    replica: pod,
    time: Number.isNaN(Date.parse(time)) ? new Date().toISOString() : time,
    stream: 'stdout',
    text: Number.isNaN(Date.parse(time)) ? text : text.slice(space + 1),
  };
}

export async function* podLogs(
  cluster: Cluster,
  selector: string,
  options: LogOptions,
): AsyncIterable<LogLine> {
  // A pod never scheduled to a node has no log to read; one being deleted is no current replica.
  const pods = (await cluster.list('v1', 'Pod', selector))
    .filter((pod) => (pod.spec as { nodeName?: string } | undefined)?.nodeName !== undefined)
    .filter((pod) => (pod.metadata as { deletionTimestamp?: unknown }).deletionTimestamp == null)
    .map((pod) => pod.metadata.name)
    .sort();
  const queue: LogLine[] = [];
  let wake: (() => void) | undefined;
  let open = pods.length;
  const controllers: AbortController[] = [];
  const log = new Log(cluster.config);
  const streams = pods.map(async (pod) => {
    const out = new PassThrough();
    let partial = '';
    out.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const part of parts) if (part !== '') queue.push(parse(pod, part));
      wake?.();
    });
    const ended = new Promise<void>((resolve) => out.on('finish', resolve).on('close', resolve));
    try {
      controllers.push(
        await log.log(cluster.namespace, pod, 'scoring', out, {
          follow: options.follow,
          tailLines: options.lines,
          timestamps: true,
        }),
      );
    } catch (error) {
      // A container that has not started has no log yet (400, or 204 with no body), and a pod
      // deleted since the list has none any more (404): no lines.
      const code = (error as { code?: number }).code;
      if (code !== 400 && code !== 204 && code !== 404) throw apiError(`logs of pod ${pod}`, error);
      out.end();
    }
    await ended;
    if (partial !== '') queue.push(parse(pod, partial));
    open -= 1;
    wake?.();
  });
  if (!options.follow) {
    await Promise.all(streams);
    yield* queue.sort((a, b) => a.time.localeCompare(b.time)).slice(-options.lines);
    return;
  }
  const onAbort = () => {
    for (const controller of controllers) controller.abort();
    wake?.();
  };
  options.signal?.addEventListener('abort', onAbort);
  try {
    while (options.signal?.aborted !== true && (open > 0 || queue.length > 0)) {
      if (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      while (queue.length > 0) yield queue.shift()!;
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    onAbort();
  }
}
