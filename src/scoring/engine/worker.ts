/**
 * The worker thread's entry point. Each worker opens every model (and the scoring script, if any),
 * warms them up, reports `ready`, then answers requests until it is told to shut down. One thread
 * runs one ONNX inference at a time (onnxruntime-node runs a session synchronously on the calling
 * thread), which is why the pool counts outstanding requests per worker.
 *
 * Nothing here catches uncaught exceptions or exits: a script that throws asynchronously, calls
 * `process.exit` or runs out of memory ends this thread, and the pool replaces it.
 */
import { dirname } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { BerthError, serializeError, toBerthError } from '../../core/errors.js';
import type { ModelToServe, TensorValue } from '../engine.js';
import { LoadedScript } from '../runtimes/entry-script.js';
import type { ScriptContext, ScriptModelInfo } from '../runtimes/entry-script.js';
import { createLogger } from '../runtimes/logger.js';
import { openSession, runSession, signatureOf, warmUp } from '../runtimes/onnx.js';
import type { OnnxSession } from '../runtimes/onnx.js';
import { decodeBody } from './decode-body.js';
import type {
  FromWorker,
  LoadReport,
  ReportMemory,
  RequestOf,
  ToWorker,
  WorkerMemory,
  WorkerStartup,
} from './messages.js';
import { prepareBytes, prepareTensors } from './transfer.js';
import { modelKey, newest } from './versions.js';

interface WorkerModel {
  model: ModelToServe;
  session: OnnxSession | undefined;
  loadSequence: number;
  version: string;
  /** Runs using the session now; a replaced or unloaded session is released when this reaches 0. */
  active: number;
  retired: boolean;
}

const startup = workerData as WorkerStartup;
const port = requirePort();
const models = new Map<string, WorkerModel>();
let loadSequence = 0;
let script: LoadedScript | undefined;

const context: ScriptContext = {
  modelDir: startup.models[0]?.modelDir ?? dirname(startup.script?.sourcePath ?? '.'),
  get models(): Record<string, ScriptModelInfo> {
    const result: Record<string, ScriptModelInfo> = {};
    for (const name of new Set([...models.values()].map((entry) => entry.model.name))) {
      const entry = newestOf(name);
      if (entry)
        result[name] = {
          version: entry.version,
          modelDir: entry.model.modelDir,
          modelFile: entry.model.modelFile,
        };
    }
    return result;
  },
  logger: createLogger('scoring-script'),
  session(name?: string): OnnxSession {
    const wanted = name ?? startup.models[0]?.name;
    const entry = wanted === undefined ? undefined : newestOf(wanted);
    if (entry?.session === undefined) {
      throw new BerthError(
        'NOT_FOUND',
        `no ONNX session for model "${wanted ?? ''}": the engine serves ${[...models.keys()].join(', ') || 'no models'}`,
      );
    }
    return entry.session;
  },
};

function requirePort(): NonNullable<typeof parentPort> {
  if (parentPort === null) throw new Error('worker.js must run as a worker thread');
  return parentPort;
}

function newestOf(name: string): WorkerModel | undefined {
  return newest([...models.values()].filter((entry) => entry.model.name === name));
}

async function loadModel(model: ModelToServe): Promise<LoadReport> {
  const key = modelKey(model.name, model.version);
  const report: LoadReport = {
    name: model.name,
    version: model.version,
    signature: null,
    cudaFallback: undefined,
    warmUpError: undefined,
    runMs: undefined,
  };
  let session: OnnxSession | undefined;
  if (model.framework === 'onnx') {
    const opened = await openSession(model, startup.onnx);
    session = opened.session;
    report.cudaFallback = opened.fallbackReason;
    report.signature = signatureOf(session);
    const warm = await warmUp(session, model.signature ?? report.signature);
    report.warmUpError = warm.error;
    report.runMs = warm.runMs;
  }
  const previous = models.get(key);
  models.set(key, {
    model,
    session,
    version: model.version,
    loadSequence: ++loadSequence,
    active: 0,
    retired: false,
  });
  if (previous !== undefined) await retire(previous);
  return report;
}

/** Releases a session no request can reach any more, once the runs already on it finish. */
async function retire(entry: WorkerModel): Promise<void> {
  entry.retired = true;
  if (entry.active === 0) await entry.session?.release();
}

async function start(): Promise<FromWorker> {
  const reports: LoadReport[] = [];
  for (const model of startup.models) reports.push(await loadModel(model));
  if (startup.script !== undefined) {
    script = await LoadedScript.load(startup.script.modulePath, startup.script.sourcePath, context);
  }
  return { type: 'ready', models: reports, script: script?.schemas, memory: ownMemory() };
}

/** This thread's heap and external memory: process.memoryUsage() reads them per isolate. */
function ownMemory(): WorkerMemory {
  const usage = process.memoryUsage();
  return { heapUsed: usage.heapUsed, external: usage.external };
}

type Reply = [FromWorker, ArrayBuffer[]];

/** Runs a loaded session, keeping it alive (`active`) while the run lasts. */
async function runModel(
  name: string,
  version: string,
  inputs: Record<string, TensorValue>,
  outputNames: string[] | undefined,
): Promise<{ outputs: Record<string, TensorValue>; computeNs: number }> {
  const entry = models.get(modelKey(name, version));
  if (entry?.session === undefined) {
    throw new BerthError('NOT_FOUND', `model "${name}" version ${version} is not loaded in this worker`);
  }
  const started = process.hrtime.bigint();
  entry.active += 1;
  let outputs;
  try {
    outputs = await runSession(entry.session, inputs, outputNames);
  } finally {
    entry.active -= 1;
    if (entry.retired && entry.active === 0) await entry.session.release();
  }
  return { outputs, computeNs: Number(process.hrtime.bigint() - started) };
}

async function infer(message: RequestOf<'infer'>): Promise<Reply> {
  const ran = await runModel(message.model, message.version, message.inputs, message.outputs);
  const prepared = prepareTensors(ran.outputs);
  return [
    { type: 'inferred', requestId: message.requestId, outputs: prepared.tensors, computeNs: ran.computeNs },
    prepared.transfer,
  ];
}

async function inferEncoded(message: RequestOf<'infer-encoded'>): Promise<Reply> {
  let decoded;
  try {
    decoded = decodeBody(message.format, message.body, {
      name: message.model,
      version: message.version,
      signature: message.signature,
      hasBatchDimension: message.hasBatchDimension,
    });
  } catch (error) {
    // Bad input, not a failed run: the engine answers it without counting it, as on the main thread.
    const refused = { kind: 'refused' as const, error: serializeError(toBerthError(error)) };
    return [{ type: 'inferred-encoded', requestId: message.requestId, outcome: refused }, []];
  }
  const ran = await runModel(message.model, message.version, decoded.inputs, decoded.outputs);
  const prepared = prepareTensors(ran.outputs);
  const outcome = {
    kind: 'ran' as const,
    outputs: prepared.tensors,
    computeNs: ran.computeNs,
    rows: decoded.rows,
    request: decoded.request,
  };
  return [{ type: 'inferred-encoded', requestId: message.requestId, outcome }, prepared.transfer];
}

async function runScript(message: RequestOf<'script'>): Promise<Reply> {
  if (script === undefined) throw new BerthError('NOT_FOUND', 'this engine has no scoring script');
  const started = process.hrtime.bigint();
  const answer = await script.run({ body: message.body, raw: message.raw });
  const execNs = Number(process.hrtime.bigint() - started);
  const body = answer.body instanceof Uint8Array ? prepareBytes(answer.body) : undefined;
  const reply: FromWorker = {
    type: 'scripted',
    requestId: message.requestId,
    ...answer,
    body: body?.bytes ?? answer.body,
    execNs,
  };
  return [reply, body?.transfer ?? []];
}

async function unload(message: RequestOf<'unload'>): Promise<Reply> {
  const key = modelKey(message.name, message.version);
  const entry = models.get(key);
  models.delete(key);
  if (entry !== undefined) await retire(entry);
  return [{ type: 'done', requestId: message.requestId }, []];
}

async function shutdown(message: RequestOf<'shutdown'>): Promise<Reply> {
  for (const entry of models.values()) await entry.session?.release();
  models.clear();
  return [{ type: 'done', requestId: message.requestId }, []];
}

async function answer(message: ToWorker): Promise<Reply> {
  switch (message.type) {
    case 'infer':
      return infer(message);
    case 'infer-encoded':
      return inferEncoded(message);
    case 'script':
      return runScript(message);
    case 'load':
      return [{ type: 'loaded', requestId: message.requestId, report: await loadModel(message.model) }, []];
    case 'unload':
      return unload(message);
    case 'shutdown':
      return shutdown(message);
    case 'ping':
      return [{ type: 'pong', requestId: message.requestId }, []];
  }
}

const started = start().then(
  (ready) => {
    port.postMessage(ready);
    return true;
  },
  (error: unknown) => {
    port.postMessage({ type: 'startup-failed', error: serializeError(error) } satisfies FromWorker);
    return false;
  },
);

/** Never rejects: every request gets exactly one reply, a result or a `failed`. */
async function handle(message: ToWorker): Promise<void> {
  try {
    if (!(await started)) throw new BerthError('NOT_READY', 'this worker failed to start');
    const [reply, transfer] = await answer(message);
    try {
      port.postMessage(reply, transfer);
    } catch (error) {
      // A script's answer that structured clone refuses (a function, a class with private state).
      throw new BerthError('RUN_FAILED', `the result cannot be sent back: ${toBerthError(error).message}`);
    }
  } catch (error) {
    const code = message.type === 'script' && !(error instanceof BerthError) ? 'RUN_FAILED' : 'INTERNAL';
    port.postMessage({
      type: 'failed',
      requestId: message.requestId,
      error: serializeError(toBerthError(error, code)),
    } satisfies FromWorker);
  }
}

port.on('message', (message: ToWorker | ReportMemory) => {
  // Both answered in this task, without waiting for start-up: a thread that does not answer is
  // held by a task (see pool.ts, overdue, and memory-watch.ts).
  if (message.type === 'ping') {
    port.postMessage({ type: 'pong', requestId: message.requestId } satisfies FromWorker);
    return;
  }
  if (message.type === 'report-memory') {
    port.postMessage({ type: 'memory', memory: ownMemory() } satisfies FromWorker);
    return;
  }
  // handle() settles every request itself, so nothing is left to await here.
  void handle(message);
});
