/**
 * A deployment's logs, read from the engine (`GET /containers/{id}/logs`): the multiplexed stream
 * (8-byte frame headers: stream, 0, 0, 0, size) is split into stdout and stderr lines, each line's
 * engine timestamp kept, and the containers' lines merged in time order. Following opens the live
 * streams first and reads the tails second, so no line falls between the two.
 */
import type { LogLine } from '../target.js';
import type { Engine } from './engine.js';

export interface Frame {
  stream: 'stdout' | 'stderr';
  text: string;
}

/** Splits multiplexed bytes into frames; a partial frame at the end is kept for the next push. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private readonly partial = { stdout: '', stderr: '' };

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Frame[] = [];
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const stream = this.pending[0] === 2 ? 'stderr' : 'stdout';
      const text = this.partial[stream] + this.pending.subarray(8, 8 + size).toString('utf8');
      this.pending = this.pending.subarray(8 + size);
      const lines = text.split('\n');
      this.partial[stream] = lines.pop() ?? '';
      for (const line of lines) out.push({ stream, text: line.replace(/\r$/, '') });
    }
    return out;
  }

  /** Whatever is left without a final newline. */
  end(): Frame[] {
    const out: Frame[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream] !== '') out.push({ stream, text: this.partial[stream] });
      this.partial[stream] = '';
    }
    return out;
  }
}

export function demultiplex(raw: Buffer): Frame[] {
  const decoder = new FrameDecoder();
  return [...decoder.push(raw), ...decoder.end()];
}

interface TimedLine extends LogLine {
  /** The engine's timestamp with nine fractional digits: sortable as text. */
  order: string;
}

function timed(replica: string, frame: Frame): TimedLine {
  const space = frame.text.indexOf(' ');
  const stamp = space === -1 ? '' : frame.text.slice(0, space);
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(stamp);
  if (match === null) {
    const now = new Date().toISOString();
    return { replica, time: now, stream: frame.stream, text: frame.text, order: now };
  }
  const order = `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}Z`;
  const time = new Date(`${match[1]}.${order.slice(20, 23)}Z`).toISOString();
  return { replica, time, stream: frame.stream, text: frame.text.slice(space + 1), order };
}

function plain({ replica, time, stream, text }: TimedLine): LogLine {
  return { replica, time, stream, text };
}

export interface LoggedContainer {
  id: string;
  replica: string;
}

async function tail(engine: Engine, container: LoggedContainer, lines: number): Promise<TimedLine[]> {
  if (lines <= 0) return [];
  try {
    const raw = await engine.getContainer(container.id).logs({
      stdout: true,
      stderr: true,
      timestamps: true,
      tail: lines,
      follow: false,
    });
    return demultiplex(raw).map((frame) => timed(container.replica, frame));
  } catch {
    // A container removed between listing and reading has no lines left to give.
    return [];
  }
}

/** The last `lines` lines of the containers, merged in time order. */
export async function tailLogs(
  engine: Engine,
  containers: readonly LoggedContainer[],
  lines: number,
): Promise<LogLine[]> {
  const all = (await Promise.all(containers.map((container) => tail(engine, container, lines)))).flat();
  all.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  return all.slice(Math.max(0, all.length - lines)).map(plain);
}

/** The tails, then every new line until the signal aborts or every container's stream ends. */
export async function* followLogs(
  engine: Engine,
  containers: readonly LoggedContainer[],
  lines: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<LogLine> {
  const queue: TimedLine[] = [];
  let wake: (() => void) | undefined;
  let open = 0;
  const streams: NodeJS.ReadableStream[] = [];
  const onAbort = (): void => {
    for (const stream of streams) (stream as NodeJS.ReadableStream & { destroy(): void }).destroy();
    wake?.();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (const container of containers) {
      const stream = await engine
        .getContainer(container.id)
        .logs({ stdout: true, stderr: true, timestamps: true, tail: 0, follow: true })
        .catch(() => undefined);
      if (stream === undefined) continue;
      streams.push(stream);
      open += 1;
      const decoder = new FrameDecoder();
      const finish = (): void => {
        for (const frame of decoder.end()) queue.push(timed(container.replica, frame));
        open -= 1;
        wake?.();
      };
      stream.on('data', (chunk: Buffer) => {
        for (const frame of decoder.push(chunk)) queue.push(timed(container.replica, frame));
        wake?.();
      });
      stream.once('end', finish);
      stream.once('error', finish);
    }
    const first = await Promise.all(containers.map((container) => tail(engine, container, lines)));
    const seen = new Map<string, string>();
    const initial = first.flat().sort((a, b) => (a.order < b.order ? -1 : 1));
    for (const line of initial) seen.set(line.replica, line.order);
    for (const line of initial.slice(Math.max(0, initial.length - lines))) yield plain(line);
    while (signal?.aborted !== true) {
      const line = queue.shift();
      if (line !== undefined) {
        const last = seen.get(line.replica);
        if (last === undefined || line.order > last) yield plain(line);
        continue;
      }
      if (open === 0) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    onAbort();
  }
}
