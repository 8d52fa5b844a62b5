/**
 * The entry of a batch worker on the ssh target's machine (bundled with esbuild, shipped by
 * content, run by the ssh batch engine in the job's folder over an SSH session): loads the program
 * on `init`, then runs one mini-batch per `run` message, as the embedded engine's worker does. It
 * exits when its stdin ends (the session closed: the job stopped, or berth went away), so a
 * dropped submitter never leaves workers scoring for nobody.
 */
import { createInterface } from 'node:readline';
import { WorkerSession } from '../../batch/runtime/worker-session.js';
import { messageMark, type FromSshWorker, type ToSshWorker } from './batch-messages.js';

// The user's output shares stdout with the messages: a message always starts a line of its own.
let atLineStart = true;
const write = process.stdout.write.bind(process.stdout);
const userWrite: typeof process.stdout.write = (chunk: string | Uint8Array, ...rest: never[]) => {
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  if (text.length > 0) atLineStart = text.endsWith('\n');
  return write(chunk, ...rest);
};
process.stdout.write = userWrite;

function send(message: FromSshWorker): void {
  const line = `${atLineStart ? '' : '\n'}${messageMark}${JSON.stringify(message)}\n`;
  atLineStart = true;
  write(line);
}

const session = new WorkerSession(send);

async function handle(message: ToSshWorker): Promise<void> {
  if (message.type === 'run') return session.run(message.task);
  for (const [name, value] of Object.entries(message.environment)) process.env[name] = value;
  return session.start(message);
}

// One message at a time, in order: a run never overtakes the init before it.
let queue = Promise.resolve();
createInterface({ input: process.stdin, crlfDelay: Infinity })
  .on('line', (line) => {
    if (line.trim() === '') return;
    const message = JSON.parse(line) as ToSshWorker;
    queue = queue
      .then(() => handle(message))
      .catch((error: unknown) => {
        process.stderr.write(
          `berth worker ${session.worker}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
        );
        process.exit(1);
      });
  })
  .on('close', () => process.exit(0));
send({ type: 'hello', pid: process.pid });
