/**
 * The scoring server's execution engine: worker pool, dynamic batcher, statistics.
 *
 * @example
 * ```ts
 * const engine = await createEngine(options); // options from scoring/options.ts
 * const answer = await engine.infer({ model: 'linear', version: undefined, outputs: undefined,
 *   inputs: { x: { datatype: 'FP32', shape: [1, 3], data: new Float32Array([1, 2, 3]) } } });
 * await engine.close();
 * ```
 */
export { createEngine } from './create-engine.js';
export type { EngineState, ScoringEngine } from './create-engine.js';
export { resolveWorkerCount } from './sizing.js';
export type { BatchListener } from './statistics.js';
export type { RawScriptInput, ScriptContext, ScriptModelInfo } from '../runtimes/entry-script.js';
