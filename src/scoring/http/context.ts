/**
 * What the HTTP handlers share: the engine and its neighbours, and the two steps every inference
 * route takes (find the model; run under an admission slot and the request's deadline).
 */
import { BerthError, toBerthError } from '../../core/errors.js';
import type { Auth } from '../auth.js';
import { untilAborted, type CancelSignal } from '../cancel.js';
import type { DataCollector } from '../data-collector.js';
import type {
  Admission,
  InferenceEngine,
  InferRequest,
  InferResponse,
  LoadedModel,
  ModelRepository,
  ScriptSchemas,
} from '../engine.js';
import type { Logger } from '../logger.js';
import type { ScoringMetrics } from '../metrics.js';
import type { ResolvedScoringOptions } from '../options.js';
import { engineHealth } from '../replica-status.js';
import type { BodyBufferPool } from './body-pool.js';
import type { Exchange } from './exchange.js';

export interface HttpContext {
  engine: InferenceEngine;
  admission: Admission;
  auth: Auth;
  metrics: ScoringMetrics;
  logger: Logger;
  collector: DataCollector | undefined;
  repository: ModelRepository | undefined;
  options: ResolvedScoringOptions;
  /** Memory for binary request bodies, reused once the engine is done with a body. */
  bodies: BodyBufferPool;
  /** The JSON schemas the scoring script declares, when the engine knows them. */
  scriptSchemas: () => ScriptSchemas | undefined;
}

function compareVersions(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The last answer of versionsOf: every request looks its model up, almost always the same one, and
 * the engine hands out the same list until its models change, so the answer is reused until then.
 */
let lastLookup:
  { models: readonly LoadedModel[]; name: string; versions: readonly LoadedModel[] } | undefined;

/** Every loaded version of `name`, oldest first. */
export function versionsOf(engine: InferenceEngine, name: string): readonly LoadedModel[] {
  const models = engine.models();
  if (lastLookup !== undefined && lastLookup.models === models && lastLookup.name === name)
    return lastLookup.versions;
  const versions = models
    .filter((model) => model.name === name)
    .sort((a, b) => compareVersions(a.version, b.version));
  lastLookup = { models, name, versions };
  return versions;
}

/** The model a request names: the given version, or the newest one loaded. */
export function findModel(engine: InferenceEngine, name: string, version: string | undefined): LoadedModel {
  const versions = versionsOf(engine, name);
  if (versions.length === 0) throw new BerthError('NOT_FOUND', `unknown model "${name}"`);
  if (version === undefined) return versions[versions.length - 1]!;
  const found = versions.find((model) => model.version === version);
  if (found === undefined) {
    throw new BerthError(
      'NOT_FOUND',
      `model "${name}" has no version "${version}" (loaded: ${versions.map((model) => model.version).join(', ')})`,
    );
  }
  return found;
}

/**
 * Undefined while the replica can score; otherwise the error its liveness probes answer (503), so
 * a supervisor replaces a replica whose workers cannot start or whose memory no worker holds.
 */
export function notLive(context: HttpContext): BerthError | undefined {
  const health = engineHealth(context.engine, context.options.engine.memoryLimitBytes);
  if (health.live) return undefined;
  return new BerthError('NOT_READY', `the server cannot score: ${health.reason ?? 'unknown reason'}`);
}

const countRejected = (context: HttpContext, error: unknown): never => {
  if (error instanceof BerthError && error.code === 'TOO_MANY_REQUESTS') context.metrics.rejected.inc();
  throw error;
};

/**
 * Runs `work` under an admission slot: takes a free slot at once or waits for one (429 at once
 * when the queue is full), then answers when the work does or when the deadline passes, whichever
 * is first. The slot is freed either way; the engine sees the same signal and drops work it has
 * not started. `settlesOnAbort` says the work itself settles when the signal aborts (the engine's
 * `infer` promises so), and spares the race. Written with plain promise callbacks rather than
 * `async`: every request takes this path, and each await would add a promise and a microtask turn.
 */
export function withSlot<T>(
  context: HttpContext,
  exchange: Exchange,
  signal: CancelSignal,
  work: () => Promise<T>,
  settlesOnAbort = false,
): Promise<T> {
  exchange.phase = 'engine';
  const free = signal.aborted ? undefined : context.admission.tryAcquire();
  if (free !== undefined) return inSlot(work, signal, free, settlesOnAbort);
  return context.admission.acquire(signal).then(
    (release) => inSlot(work, signal, release, settlesOnAbort),
    (error: unknown) => countRejected(context, error),
  );
}

/**
 * The engine's tensor inference under an admission slot. The engine's `infer` settles as soon as
 * the signal aborts, so its answer is not raced against the signal.
 */
export function inferInSlot(
  context: HttpContext,
  exchange: Exchange,
  signal: CancelSignal,
  request: Pick<InferRequest, 'model' | 'version' | 'inputs' | 'outputs'>,
): Promise<InferResponse> {
  const work = (): Promise<InferResponse> =>
    context.engine.infer({
      model: request.model,
      version: request.version,
      inputs: request.inputs,
      outputs: request.outputs,
      signal,
      id: exchange.id,
    });
  return withSlot(context, exchange, signal, work, true);
}

function inSlot<T>(
  work: () => Promise<T>,
  signal: CancelSignal,
  release: () => void,
  settlesOnAbort: boolean,
): Promise<T> {
  let pending: Promise<T>;
  try {
    pending = work();
  } catch (error) {
    release();
    return Promise.reject(error instanceof Error ? error : toBerthError(error));
  }
  if (!settlesOnAbort) return untilAborted(pending, signal, release);
  return pending.then(
    (value) => {
      release();
      return value;
    },
    (error: unknown) => {
      release();
      throw error;
    },
  );
}

const jsonTypes = ['application/json', 'text/json'];

type MediaKind = 'json' | 'octet-stream' | 'other';

/**
 * Content-Type values seen so far and what they are: clients send the same few values on every
 * request, so each is split and lower-cased once. Bounded: cleared when it fills.
 */
const mediaKinds = new Map<string, MediaKind>();

function mediaKind(value: string): MediaKind {
  let kind = mediaKinds.get(value);
  if (kind === undefined) {
    const type = value.split(';', 1)[0]!.trim().toLowerCase();
    kind =
      jsonTypes.includes(type) || type.endsWith('+json')
        ? 'json'
        : type === 'application/octet-stream'
          ? 'octet-stream'
          : 'other';
    if (mediaKinds.size >= 64) mediaKinds.clear();
    mediaKinds.set(value, kind);
  }
  return kind;
}

/** True for a JSON media type (parameters such as charset allowed); undefined counts as JSON. */
export function isJsonContentType(value: string | undefined): boolean {
  return value === undefined || value === '' || mediaKind(value) === 'json';
}

export function isOctetStream(value: string | undefined): boolean {
  return value !== undefined && value !== '' && mediaKind(value) === 'octet-stream';
}
