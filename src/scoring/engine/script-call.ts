/**
 * One call to the scoring script's `run` on the least-loaded worker. Script calls are not batched:
 * `run` takes one request's body. An aborted call is answered at once with the signal's reason;
 * the worker's late answer is dropped, and a worker that does not answer after a deadline is
 * replaced (pool.ts, overdue).
 */
import { BerthError } from '../../core/errors.js';
import type { ScriptRequest, ScriptResponse } from '../engine.js';
import type { ModelEntry } from './model-table.js';
import type { WorkerPool } from './pool.js';
import type { StatisticsRecorder } from './statistics.js';
import { prepareBytes } from './transfer.js';
import { abortReason } from '../cancel.js';

export async function runScriptCall(
  pool: WorkerPool,
  stats: StatisticsRecorder,
  entry: ModelEntry,
  request: ScriptRequest,
): Promise<ScriptResponse> {
  const { name } = entry.model;
  const version = entry.version;
  const signal = request.signal;
  if (signal?.aborted) throw abortReason(signal);
  const started = process.hrtime.bigint();
  const worker = pool.pick();
  if (worker === undefined)
    throw new BerthError('NOT_READY', 'no worker is running: the pool is restarting its workers');
  const bytes = request.raw === undefined ? undefined : prepareBytes(request.raw.bytes);
  const raw =
    request.raw === undefined || bytes === undefined ? undefined : { ...request.raw, bytes: bytes.bytes };
  // The pool answers an aborted call with the signal's reason at once, and on a deadline asks
  // whether the worker still turns (a `run` that never returns is ended with its worker).
  const call = pool.call(
    worker,
    { type: 'script', model: name, body: request.body, raw },
    bytes?.transfer ?? [],
    { signal, requestId: request.id },
  );
  try {
    const reply = await call;
    const totalNs = Number(process.hrtime.bigint() - started);
    stats.execution(name, version, 1);
    stats.success(name, version, totalNs, Math.max(0, totalNs - reply.execNs), reply.execNs);
    return {
      status: reply.status,
      contentType: reply.contentType,
      body: reply.body,
      execMs: reply.execNs / 1e6,
    };
  } catch (error) {
    stats.failure(name, version, Number(process.hrtime.bigint() - started));
    throw error;
  }
}
