/**
 * The engine `createEngine` returns, whichever runtime backs it (worker threads for ONNX and JS/TS
 * scripts, Python processes for `.py` scripts): the contract plus the members engine.ts marks
 * optional. States: starting → ready → closing → closed.
 */
import type {
  EncodedInferRequest,
  EncodedInferResponse,
  EngineFailure,
  EngineHealth,
  EngineStatistics,
  InferenceEngine,
  ScriptSchemas,
} from '../engine.js';
import type { BatchListener } from './statistics.js';

export type EngineState = 'starting' | 'ready' | 'closing' | 'closed';

/** The engine createEngine returns: the contract plus the members engine.ts marks optional. */
export interface ScoringEngine extends InferenceEngine {
  readonly state: EngineState;
  scriptSchemas(): ScriptSchemas | undefined;
  engineStatistics(): EngineStatistics;
  onBatch(listener: BatchListener): () => void;
  health(): EngineHealth;
  onFatal(listener: (failure: EngineFailure) => void): () => void;
  acceptsEncoded(model: string, version: string, byteLength: number): boolean;
  inferEncoded(request: EncodedInferRequest): Promise<EncodedInferResponse>;
  /** Where a loaded model's tensor inference runs (see placement.ts); NOT_FOUND when not loaded. */
  placement(name: string, version?: string): 'inline' | 'workers';
}
