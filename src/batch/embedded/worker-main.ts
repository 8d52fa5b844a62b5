/**
 * The entry of an embedded worker process (forked by the embedded engine): loads the program on
 * `init`, then runs one mini-batch per `run` message. It exits when its parent goes away (the IPC
 * channel closes), so a killed submitter never leaves workers scoring for nobody.
 */
import { hasErrorCode } from '../../core/errors.js';
import { loadProgram } from '../runtime/load-program.js';
import type { BatchProgram } from '../runtime/program.js';
import { runMiniBatch } from '../runtime/run-mini-batch.js';
import type { FromWorker, ToWorker } from './messages.js';

let program: BatchProgram | undefined;
let worker = 'w?';

function send(message: FromWorker): void {
  process.send?.(message);
}

async function handle(message: ToWorker): Promise<void> {
  if (message.type === 'init') {
    worker = message.worker;
    const local = message.program.model?.local;
    try {
      program = await loadProgram(message.program, {
        jobId: message.jobId,
        worker,
        modelDir: local?.modelDir,
        modelFile: local?.modelFile,
      });
      send({ type: 'ready' });
    } catch (error) {
      const code = hasErrorCode(error) ? error.code : 'RUN_FAILED';
      send({
        type: 'init-failed',
        error: { code, message: error instanceof Error ? error.message : String(error) },
      });
    }
    return;
  }
  if (program === undefined) {
    send({
      type: 'outcome',
      outcome: {
        index: message.task.plan.index,
        attempt: message.task.attempt,
        worker,
        durationMs: 0,
        status: 'failed',
        rows: [],
        failedItems: [],
        error: { code: 'INTERNAL', message: 'worker received a mini-batch before init', phase: 'init' },
      },
    });
    return;
  }
  send({ type: 'outcome', outcome: await runMiniBatch(program, message.task, worker) });
}

process.on('message', (message: ToWorker) => {
  handle(message).catch((error: unknown) => {
    process.stderr.write(
      `berth worker ${worker}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
});
process.on('disconnect', () => process.exit(0));
