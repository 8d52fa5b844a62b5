/**
 * The ONNX runtime adapter, used inside worker threads: opens a session with the engine's thread,
 * optimisation and execution-provider settings, converts berth tensors to ONNX Runtime tensors
 * and back, warms a session up, and reads a signature from a session when the registry gave none.
 */
import * as ort from 'onnxruntime-node';
import { BerthError } from '../../core/errors.js';
import { datatypeFromOnnx, datatypeInfo } from '../../core/tensor.js';
import type { Dimension, ModelSignature, TensorSpec } from '../../core/tensor.js';
import type { EngineOptions, ModelToServe, TensorValue } from '../engine.js';
import { zeros } from './tensor-data.js';

export type OnnxSession = ort.InferenceSession;

export interface OpenedSession {
  session: OnnxSession;
  /** The provider the session runs on, and whether 'cuda' was asked for and unavailable. */
  provider: 'cpu' | 'cuda';
  fellBackToCpu: boolean;
  fallbackReason: string | undefined;
}

export async function openSession(model: ModelToServe, onnx: EngineOptions['onnx']): Promise<OpenedSession> {
  if (model.modelFile === undefined) {
    throw new BerthError('INVALID_MODEL', `model "${model.name}" has no ONNX file to load`);
  }
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: onnx.intraOpThreads,
    interOpNumThreads: onnx.interOpThreads,
    graphOptimizationLevel: onnx.graphOptimizationLevel,
    // Warnings from ONNX Runtime itself (e.g. about unused initialisers) are noise in serving logs.
    logSeverityLevel: 3,
  };
  const wantsCuda = onnx.executionProviders[0] === 'cuda';
  if (wantsCuda) {
    try {
      const session = await ort.InferenceSession.create(model.modelFile, {
        ...base,
        executionProviders: ['cuda', 'cpu'],
      });
      return { session, provider: 'cuda', fellBackToCpu: false, fallbackReason: undefined };
    } catch (error) {
      // A missing CUDA provider library fails here; a broken model fails again below on CPU.
      const session = await createOnCpu(model, base);
      return { session, provider: 'cpu', fellBackToCpu: true, fallbackReason: firstLine(error) };
    }
  }
  return {
    session: await createOnCpu(model, base),
    provider: 'cpu',
    fellBackToCpu: false,
    fallbackReason: undefined,
  };
}

async function createOnCpu(
  model: ModelToServe,
  base: ort.InferenceSession.SessionOptions,
): Promise<OnnxSession> {
  try {
    return await ort.InferenceSession.create(model.modelFile ?? '', { ...base, executionProviders: ['cpu'] });
  } catch (error) {
    throw new BerthError(
      'INVALID_MODEL',
      `cannot load model "${model.name}" version ${model.version} from ${model.modelFile}: ${firstLine(error)}`,
      { cause: error },
    );
  }
}

/** Runs one inference. `outputs` undefined fetches every output. */
export async function runSession(
  session: OnnxSession,
  inputs: Record<string, TensorValue>,
  outputs: readonly string[] | undefined,
): Promise<Record<string, TensorValue>> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, value] of Object.entries(inputs)) feeds[name] = toOrtTensor(value);
  const fetched = outputs === undefined ? await session.run(feeds) : await session.run(feeds, [...outputs]);
  const result: Record<string, TensorValue> = {};
  for (const [name, value] of Object.entries(fetched)) result[name] = fromOrtValue(name, value);
  return result;
}

function toOrtTensor(value: TensorValue): ort.Tensor {
  const type = datatypeInfo[value.datatype].onnx;
  // The typed array (or string[]) already has the class ONNX Runtime expects for `type`.
  return new ort.Tensor(type, value.data, value.shape);
}

function fromOrtValue(name: string, value: ort.OnnxValue): TensorValue {
  const datatype = datatypeFromOnnx(value.type);
  if (datatype === undefined) {
    throw new BerthError('RUN_FAILED', `output "${name}" has type ${value.type}, which berth cannot return`);
  }
  return { datatype, shape: [...value.dims], data: value.data };
}

/** The signature as ONNX Runtime reports it; unnamed dynamic dimensions become '?'. */
export function signatureOf(session: OnnxSession): ModelSignature {
  const specs = (metadata: readonly ort.InferenceSession.ValueMetadata[]): TensorSpec[] =>
    metadata.flatMap((entry) => {
      if (!entry.isTensor) return [];
      const datatype = datatypeFromOnnx(entry.type);
      if (datatype === undefined) return [];
      const shape: Dimension[] = entry.shape.map((dim) =>
        typeof dim === 'number' && dim >= 0 ? dim : String(dim || '?'),
      );
      return [{ name: entry.name, datatype, shape }];
    });
  return {
    inputs: specs(session.inputMetadata),
    outputs: specs(session.outputMetadata),
    opset: undefined,
    producer: undefined,
  };
}

/** What warm-up learnt: why it failed, or how long one small run takes once warm. */
export interface WarmUpResult {
  error: string | undefined;
  /**
   * The fastest of a few timed runs of the warm-up input (ms), or undefined when warm-up failed.
   * The engine uses it to decide whether a model is cheap enough to run on the main thread.
   */
  runMs: number | undefined;
}

/**
 * Timed runs after the first: at least MIN, then more until MAX or until BUDGET_MS has passed.
 * The fastest is the estimate. A model that computes in microseconds needs many runs: its first
 * few pay for JavaScript that is not yet optimised (80-100 µs a run where 30 µs is the steady
 * state), and the engine's inline placement compares this figure against a 0.1 ms bound.
 */
const TIMED_RUNS_MIN = 5;
const TIMED_RUNS_MAX = 200;
const TIMED_BUDGET_MS = 30;

/**
 * Runs zeros through the session so the first real request does not pay for lazy allocation.
 * Dynamic dimensions are tried at 1 first; convolutional models often need a larger spatial size
 * (pooling windows), so 64 is tried next for dynamic dimensions past the first. A model that
 * fails both is still served: warm-up is an optimisation, and the caller logs the reason.
 */
export async function warmUp(session: OnnxSession, signature: ModelSignature): Promise<WarmUpResult> {
  let lastError = '';
  for (const size of [1, 64]) {
    const inputs: Record<string, TensorValue> = {};
    for (const spec of signature.inputs) {
      const shape = spec.shape.map((dim, index) => (typeof dim === 'number' ? dim : index === 0 ? 1 : size));
      inputs[spec.name] = { datatype: spec.datatype, shape, data: zeros(spec.datatype, shape) };
    }
    try {
      await runSession(session, inputs, undefined);
    } catch (error) {
      lastError = firstLine(error);
      continue;
    }
    let fastest = Infinity;
    const budgetEnds = performance.now() + TIMED_BUDGET_MS;
    for (let run = 0; run < TIMED_RUNS_MAX; run++) {
      const started = performance.now();
      await runSession(session, inputs, undefined);
      const ended = performance.now();
      fastest = Math.min(fastest, ended - started);
      if (run + 1 >= TIMED_RUNS_MIN && ended >= budgetEnds) break;
    }
    return { error: undefined, runMs: fastest };
  }
  return { error: lastError, runMs: undefined };
}

export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // ONNX Runtime messages carry ANSI colour codes and native stack lines; keep the first useful line.
  // eslint-disable-next-line no-control-regex
  return (message.replace(/\u001b\[[0-9;]*m/g, '').split('\n')[0] ?? '').trim();
}
