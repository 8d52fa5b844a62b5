/**
 * The local function host: what a functions platform does, on this machine. One HTTP address per
 * deployment (a function URL); an invocation goes to an idle instance of the current package, or
 * starts one (a cold start) while fewer than `maxInstances` run, or waits for one to free. Each
 * instance is a process of its own serving one invocation at a time; one idle for `idleTimeoutMs`
 * is stopped, so a deployment with no traffic runs no process (scale to zero).
 *
 * `swap(package, env)` points new invocations at another package and environment: idle instances of the old one stop at
 * once, busy ones when their invocation ends. The address stays the same.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BerthError, toBerthError } from '../../../core/errors.js';
import type { LogLine } from '../../target.js';
import type { FunctionKind } from '../kinds.js';
import { FunctionInstance } from './instance.js';
import type { HttpAnswer, HttpInvocation } from './messages.js';

export interface FunctionHostOptions {
  /** Instance ids are `<name>-<n>`. */
  name: string;
  kind: FunctionKind;
  maxInstances: number;
  idleTimeoutMs: number;
  startTimeoutMs: number;
  /** An invocation's deadline. */
  invocationTimeoutMs: number;
  nodePath: string;
  env: Record<string, string | undefined>;
  log: (line: LogLine) => void;
  /** Largest request body. */
  maxBodyBytes: number;
}

export interface HostStatistics {
  coldStarts: number;
  invocations: number;
  running: number;
}

interface Waiter {
  resolve: (instance: FunctionInstance) => void;
  reject: (error: Error) => void;
}

export class FunctionHost {
  private readonly server: Server;
  private readonly instances = new Set<FunctionInstance>();
  private readonly waiting: Waiter[] = [];
  private packageDir: string;
  private env: Record<string, string | undefined>;
  private started = 0;
  private invocations = 0;
  private closed = false;
  private readonly reaper: NodeJS.Timeout;
  url = '';

  constructor(
    packageDir: string,
    private readonly options: FunctionHostOptions,
  ) {
    this.packageDir = packageDir;
    this.env = options.env;
    this.server = createServer((req, res) => this.serve(req, res));
    this.server.keepAliveTimeout = 5000;
    const period = Math.max(50, Math.min(1000, Math.floor(options.idleTimeoutMs / 4)));
    this.reaper = setInterval(() => this.reap(), period);
    this.reaper.unref();
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  statistics(): HostStatistics {
    return { coldStarts: this.started, invocations: this.invocations, running: this.instances.size };
  }

  /** Instance processes now running, by pid. */
  pids(): number[] {
    return [...this.instances].flatMap((instance) => (instance.pid === undefined ? [] : [instance.pid]));
  }

  swap(packageDir: string, env: Record<string, string | undefined>): void {
    this.packageDir = packageDir;
    this.env = env;
    for (const instance of this.instances)
      if (instance.options.packageDir !== packageDir && instance.state === 'idle') instance.stop();
  }

  /** One invocation through the pool, as the front door makes it. */
  async invoke(request: HttpInvocation): Promise<HttpAnswer> {
    const instance = await this.acquire();
    this.invocations += 1;
    try {
      return await instance.invoke(request, this.options.invocationTimeoutMs);
    } finally {
      this.release(instance);
    }
  }

  private spawn(): FunctionInstance {
    this.started += 1;
    const id = `${this.options.name}-${this.started}`;
    const instance = new FunctionInstance({
      id,
      packageDir: this.packageDir,
      kind: this.options.kind,
      nodePath: this.options.nodePath,
      env: { ...this.env, BERTH_REPLICA: id },
      startTimeoutMs: this.options.startTimeoutMs,
      log: this.options.log,
      onExit: (gone) => {
        this.instances.delete(gone);
        this.dispatch();
      },
    });
    this.instances.add(instance);
    return instance;
  }

  /** Instances taken by an invocation, from acquire() to release(). */
  private readonly taken = new Set<FunctionInstance>();

  private free(): FunctionInstance | undefined {
    for (const instance of this.instances)
      if (
        instance.state === 'idle' &&
        !this.taken.has(instance) &&
        instance.options.packageDir === this.packageDir
      )
        return instance;
    return undefined;
  }

  private acquire(): Promise<FunctionInstance> {
    if (this.closed) return Promise.reject(new BerthError('SHUTTING_DOWN', 'the function is stopping'));
    const found = this.free();
    if (found !== undefined) {
      this.taken.add(found);
      return Promise.resolve(found);
    }
    return new Promise<FunctionInstance>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.dispatch();
    });
  }

  private release(instance: FunctionInstance): void {
    this.taken.delete(instance);
    if (instance.options.packageDir !== this.packageDir) instance.stop();
    this.dispatch();
  }

  /** Hands free instances to waiters, and starts instances for the waiters left while there is room. */
  private dispatch(): void {
    while (this.waiting.length > 0) {
      const free = this.free();
      if (free === undefined) break;
      this.taken.add(free);
      this.waiting.shift()!.resolve(free);
    }
    const starting = [...this.instances].filter((instance) => instance.state === 'starting').length;
    let room = this.options.maxInstances - this.instances.size;
    let wanted = this.waiting.length - starting;
    while (room > 0 && wanted > 0 && !this.closed) {
      const instance = this.spawn();
      instance.loaded.then(
        () => this.dispatch(),
        (error: unknown) => {
          // A start that fails fails the oldest waiter, so a broken package does not hang requests.
          this.waiting.shift()?.reject(toBerthError(error, 'RUN_FAILED'));
        },
      );
      room -= 1;
      wanted -= 1;
    }
  }

  /** Stops instances idle for longer than idleTimeoutMs. */
  private reap(): void {
    const now = Date.now();
    for (const instance of this.instances)
      if (
        instance.state === 'idle' &&
        !this.taken.has(instance) &&
        now - instance.lastUsed >= this.options.idleTimeoutMs
      )
        instance.stop();
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= this.options.maxBodyBytes) chunks.push(chunk);
    });
    req.on('end', () => {
      const answer = (error: unknown): void => {
        const berth = toBerthError(error);
        const key = (req.url ?? '').startsWith('/v2') ? 'error' : 'message';
        const body = `{"${key}":${JSON.stringify(berth.message)}}`;
        if (!res.headersSent)
          res.writeHead(berth.status, {
            'content-type': 'application/json',
            'x-berth-error-code': berth.code,
          });
        res.end(body);
      };
      if (size > this.options.maxBodyBytes) {
        answer(
          new BerthError('PAYLOAD_TOO_LARGE', `the request body is over ${this.options.maxBodyBytes} bytes`),
        );
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers))
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      const invocation: HttpInvocation = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers,
        bodyBase64: Buffer.concat(chunks).toString('base64'),
      };
      this.invoke(invocation).then((result) => {
        const body = Buffer.from(result.bodyBase64, 'base64');
        res.writeHead(result.status, { ...result.headers, 'content-length': body.length });
        res.end(body);
      }, answer);
    });
  }

  /** Stops accepting, ends every instance and waits for the processes to go. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.reaper);
    for (const waiter of this.waiting.splice(0))
      waiter.reject(new BerthError('SHUTTING_DOWN', 'the function is stopping'));
    const instances = [...this.instances];
    for (const instance of instances) instance.stop();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await Promise.all(instances.map((instance) => instance.exited()));
  }
}
