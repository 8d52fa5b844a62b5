/** A worker thread of workers.ts: one single-threaded session, one run at a time. */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';

const { file, input } = workerData as { file: string; input: string };
const session = await ort.InferenceSession.create(file, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
});
const port = parentPort!;
/** The run in progress: onnxruntime-node starts a run on a later turn, so a release must wait for it. */
let running: Promise<unknown> = Promise.resolve();
port.on('message', (message: { data: Float32Array; shape: number[] } | 'release') => {
  if (message === 'release') {
    void running.then(() => session.release()).then(() => port.postMessage('released'));
    return;
  }
  running = session
    .run({ [input]: new ort.Tensor('float32', message.data, message.shape) })
    .then((results) => {
      const output = Object.values(results)[0]!.data as Float32Array;
      port.postMessage(output, [output.buffer as ArrayBuffer]);
    });
});
port.postMessage('ready');
