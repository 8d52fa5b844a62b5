/**
 * Child process: the baselines berth is compared with.
 * - `infer`: the obvious alternative, a minimal node:http server that parses the v2 JSON body and
 *   calls session.run once per request, with default session options.
 * - `echo`: answers every request with its own body; the floor for any node:http server.
 * Prints one JSON line `{"http": port}` on stdout once listening; stops on SIGTERM.
 */
import { createServer } from 'node:http';
import ort from 'onnxruntime-node';
import { readBody } from './read-body.js';

interface PlainArgs {
  mode: 'infer' | 'echo';
  file: string;
}

interface V2Input {
  name: string;
  shape: number[];
  datatype: string;
  data: number[];
}

const args = JSON.parse(process.argv[2] ?? '{}') as PlainArgs;
const session = args.mode === 'infer' ? await ort.InferenceSession.create(args.file) : undefined;

async function infer(body: Buffer): Promise<string> {
  const parsed = JSON.parse(body.toString('utf8')) as { inputs: V2Input[] };
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of parsed.inputs)
    feeds[input.name] = new ort.Tensor('float32', Float32Array.from(input.data), input.shape);
  const results = await session!.run(feeds);
  const outputs = Object.entries(results).map(([name, tensor]) => ({
    name,
    shape: tensor.dims,
    datatype: 'FP32',
    data: Array.from(tensor.data as Float32Array),
  }));
  return JSON.stringify({ outputs });
}

const server = createServer((request, response) => {
  readBody(request)
    .then(async (body) => {
      if (args.mode === 'echo') {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
        response.end(body);
        return;
      }
      const text = await infer(body);
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      response.end(text);
    })
    .catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(
    `${JSON.stringify({ http: typeof address === 'object' && address ? address.port : 0 })}\n`,
  );
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
