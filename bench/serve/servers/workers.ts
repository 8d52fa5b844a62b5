/**
 * Child process: the hand-written alternative done well, for v2 binary bodies and this one model:
 * node:http reads the body, JSON.parse reads its small header, and the floats go, up to 4
 * requests stacked, to one of `workers` threads that each hold a single-threaded session (the raw
 * limit's best layout). No validation, admission, metrics or logs. It shows what a careful
 * hand-written server reaches on these cores, so berth's binary figures can be read against it as
 * well as against the raw limit. Prints `{"http": port}` once listening; stops on SIGTERM.
 */
import { createServer, type ServerResponse } from 'node:http';
import { Worker } from 'node:worker_threads';
import { readBody } from './read-body.js';

interface WorkersArgs {
  file: string;
  input: string;
  itemShape: number[];
  workers: number;
  maxBatch: number;
}

interface Waiting {
  floats: Float32Array;
  response: ServerResponse;
}

interface PoolThread {
  thread: Worker;
  busy: Waiting[] | undefined;
}

const args = JSON.parse(process.argv[2] ?? '{}') as WorkersArgs;
const itemFloats = args.itemShape.reduce((a, b) => a * b, 1);
const queue: Waiting[] = [];

const workers: PoolThread[] = await Promise.all(
  Array.from({ length: args.workers }, async () => {
    const thread = new Worker(new URL('./workers-thread.js', import.meta.url), {
      workerData: { file: args.file, input: args.input },
    });
    await new Promise((resolve) => thread.once('message', resolve));
    const worker: PoolThread = { thread, busy: undefined };
    thread.on('message', (outputs: Float32Array | 'released') => {
      if (outputs !== 'released') answer(worker, outputs);
    });
    return worker;
  }),
);

function answer(worker: PoolThread, outputs: Float32Array): void {
  const batch = worker.busy ?? [];
  worker.busy = undefined;
  const perItem = outputs.length / batch.length;
  batch.forEach((waiting, index) => {
    const data = Array.from(outputs.subarray(index * perItem, (index + 1) * perItem));
    const text = JSON.stringify({
      outputs: [{ name: 'output', datatype: 'FP32', shape: [1, perItem], data }],
    });
    waiting.response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    waiting.response.end(text);
  });
  dispatch();
}

function dispatch(): void {
  for (const worker of workers) {
    if (queue.length === 0) return;
    if (worker.busy !== undefined) continue;
    const batch = queue.splice(0, args.maxBatch);
    const stacked = new Float32Array(batch.length * itemFloats);
    batch.forEach((waiting, index) => stacked.set(waiting.floats, index * itemFloats));
    worker.busy = batch;
    worker.thread.postMessage({ data: stacked, shape: [batch.length, ...args.itemShape] }, [stacked.buffer]);
  }
}

const server = createServer((request, response) => {
  const headerLength = Number(request.headers['inference-header-content-length']);
  readBody(request).then(
    (body) => {
      JSON.parse(body.toString('utf8', 0, headerLength));
      const bytes = body.subarray(headerLength);
      // A copy into aligned memory of its own, as any server must before handing floats over.
      const floats = new Float32Array(bytes.length / 4);
      new Uint8Array(floats.buffer).set(bytes);
      queue.push({ floats, response });
      dispatch();
    },
    () => response.destroy(),
  );
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ http: typeof address === 'object' ? address?.port : 0 })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  // Each thread releases its session before it ends: ending it with a live session aborts the process.
  const released = workers.map(
    ({ thread }) =>
      new Promise<void>((resolve) => {
        thread.on('message', (message) => {
          if (message === 'released') resolve();
        });
        thread.postMessage('release');
      }),
  );
  void Promise.all(released).then(() => process.exit(0));
});
