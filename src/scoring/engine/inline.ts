/**
 * Sessions on the main thread, for models that run inline (see placement.ts). Each holds its own
 * ONNX Runtime session, opened with the engine's settings; the workers keep theirs too, so a
 * scoring script's `ctx.session()` still works. onnxruntime-node runs a session synchronously on
 * the calling thread, so an inline run blocks the event loop for its (by choice, tiny) duration.
 * Errors take the same shape as a worker's, so a caller cannot tell where a request ran.
 */
import { BerthError, toBerthError } from '../../core/errors.js';
import type { ModelSignature } from '../../core/tensor.js';
import type { EngineOptions, ModelToServe, TensorValue } from '../engine.js';
import { openSession, runSession, warmUp, type OnnxSession } from '../runtimes/onnx.js';
import { modelKey } from './versions.js';

interface InlineSession {
  session: OnnxSession;
  /** Runs using the session now; a replaced or closed session is released when this reaches 0. */
  active: number;
  retired: boolean;
}

export interface InlineResult {
  outputs: Record<string, TensorValue>;
  computeNs: number;
}

export class InlineSessions {
  private readonly sessions = new Map<string, InlineSession>();

  constructor(private readonly onnx: EngineOptions['onnx']) {}

  has(name: string, version: string): boolean {
    return this.sessions.has(modelKey(name, version));
  }

  /** Opens and warms a session for `model`, replacing (and later releasing) any previous one. */
  async open(model: ModelToServe, signature: ModelSignature | null): Promise<void> {
    const { session } = await openSession(model, this.onnx);
    if (signature !== null) await warmUp(session, signature);
    const key = modelKey(model.name, model.version);
    const previous = this.sessions.get(key);
    this.sessions.set(key, { session, active: 0, retired: false });
    if (previous !== undefined) await retire(previous);
  }

  async close(name: string, version: string): Promise<void> {
    const key = modelKey(name, version);
    const entry = this.sessions.get(key);
    this.sessions.delete(key);
    if (entry !== undefined) await retire(entry);
  }

  async closeAll(): Promise<void> {
    const entries = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(entries.map(retire));
  }

  async run(
    name: string,
    version: string,
    inputs: Record<string, TensorValue>,
    outputs: readonly string[] | undefined,
  ): Promise<InlineResult> {
    const entry = this.sessions.get(modelKey(name, version));
    if (entry === undefined) {
      throw new BerthError('NOT_FOUND', `model "${name}" version ${version} is not loaded`);
    }
    const started = process.hrtime.bigint();
    entry.active += 1;
    try {
      const result = await runSession(entry.session, inputs, outputs);
      return { outputs: result, computeNs: Number(process.hrtime.bigint() - started) };
    } catch (error) {
      // A worker reports a failed run as INTERNAL unless it is already a BerthError; so does this.
      throw toBerthError(error, 'INTERNAL');
    } finally {
      entry.active -= 1;
      if (entry.retired && entry.active === 0) await entry.session.release();
    }
  }
}

async function retire(entry: InlineSession): Promise<void> {
  entry.retired = true;
  if (entry.active === 0) await entry.session.release();
}
