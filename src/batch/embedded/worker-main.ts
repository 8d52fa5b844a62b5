/**
 * The entry of an embedded worker process (forked by the embedded engine): loads the program on
 * `init`, then runs one mini-batch per `run` message. It exits when its parent goes away (the IPC
 * channel closes), so a killed submitter never leaves workers scoring for nobody.
 */
import { WorkerSession } from '../runtime/worker-session.js';
import type { FromWorker, ToWorker } from './messages.js';

const session = new WorkerSession((reply: FromWorker) => process.send?.(reply));

async function handle(message: ToWorker): Promise<void> {
  if (message.type === 'run') return session.run(message.task);
  const local = message.program.model?.local;
  return session.start({
    jobId: message.jobId,
    worker: message.worker,
    program: message.program,
    modelDir: local?.modelDir,
    modelFile: local?.modelFile,
  });
}

process.on('message', (message: ToWorker) => {
  handle(message).catch((error: unknown) => {
    process.stderr.write(
      `berth worker ${session.worker}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
});
process.on('disconnect', () => process.exit(0));
