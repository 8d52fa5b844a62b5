/**
 * Shared pieces of the gRPC front-end tests: a real @grpc/grpc-js client built with proto-loader
 * from berth's own proto or from Triton's published one (test/scoring/grpc-triton), promisified,
 * and a server started on a loopback port around an engine.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync, type ServiceDefinition } from '@grpc/proto-loader';
import {
  protoLoaderOptions,
  protoPath,
  SERVICE_NAME,
  startGrpcServer,
  type GrpcServerHandle,
  type GrpcServerOptions,
} from '../../src/scoring/grpc/index.js';
import { findPackageRoot } from '../../src/scoring/grpc/proto.js';

export type Message = Record<string, unknown>;

export interface CallOptions {
  key?: string;
  deadlineMs?: number;
  /** Extra metadata entries, e.g. x-request-id. */
  metadata?: Record<string, string>;
}

export interface InferenceClient {
  /** A unary call; a Buffer is sent as it is, in place of an encoded request. */
  call(method: string, request: Message | Buffer, options?: CallOptions): Promise<Message>;
  /** Opens a ModelStreamInfer stream. */
  stream(options?: CallOptions): InferStream;
  close(): void;
}

export interface InferStream {
  /** Sends a request; a Buffer is sent as it is, in place of an encoded request. */
  write(request: Message | Buffer): void;
  /** The next response; rejects when the stream ends or fails first. */
  next(): Promise<Message>;
  /** Closes the client's side. */
  end(): void;
  /** Cancels the whole stream, as a client that gives up does. */
  cancel(): void;
  /** The status the server ended the stream with (OK or not). */
  readonly status: Promise<grpc.StatusObject>;
}

/** Triton's published definitions, kept unmodified as fixtures. */
export const tritonProtoDir = (): string => join(findPackageRoot(), 'test', 'scoring', 'grpc-triton');

/** A client built from berth's proto (`proto/`). */
export function createClient(port: number): InferenceClient {
  return createClientFrom(protoPath(), port);
}

/** A client built from Triton's published grpc_service.proto, as a stock Triton client is. */
export function createTritonClient(port: number): InferenceClient {
  return createClientFrom(join(tritonProtoDir(), 'grpc_service.proto'), port);
}

function createClientFrom(file: string, port: number): InferenceClient {
  const definition = loadSync(file, { ...protoLoaderOptions, includeDirs: [dirname(file)] });
  const service = definition[SERVICE_NAME] as ServiceDefinition;
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const method = (name: string) => {
    const found = service[name];
    if (found === undefined) throw new Error(`${file} has no method ${name}`);
    const serialize = (request: Message | Buffer): Buffer =>
      Buffer.isBuffer(request) ? request : found.requestSerialize(request);
    return {
      path: found.path,
      serialize,
      deserialize: (bytes: Buffer) => found.responseDeserialize(bytes) as Message,
    };
  };
  const metadataOf = (options: CallOptions): grpc.Metadata => {
    const metadata = new grpc.Metadata();
    if (options.key !== undefined) metadata.set('authorization', `Bearer ${options.key}`);
    for (const [key, value] of Object.entries(options.metadata ?? {})) metadata.set(key, value);
    return metadata;
  };
  const callOptionsOf = (options: CallOptions): grpc.CallOptions =>
    options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
  return {
    call(name, request, options = {}) {
      const { path, serialize, deserialize } = method(name);
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          path,
          serialize,
          deserialize,
          request,
          metadataOf(options),
          callOptionsOf(options),
          (error, response) => (error ? reject(error) : resolve(response!)),
        );
      });
    },
    stream(options = {}) {
      const { path, serialize, deserialize } = method('ModelStreamInfer');
      const call = client.makeBidiStreamRequest(
        path,
        serialize,
        deserialize,
        metadataOf(options),
        callOptionsOf(options),
      );
      return openStream(call);
    },
    close: () => client.close(),
  };
}

function openStream(call: grpc.ClientDuplexStream<Message | Buffer, Message>): InferStream {
  const responses: Message[] = [];
  const waiting: { resolve: (message: Message) => void; reject: (error: Error) => void }[] = [];
  let ended: Error | undefined;
  const finish = (error: Error): void => {
    ended ??= error;
    for (const waiter of waiting.splice(0)) waiter.reject(ended);
  };
  call.on('data', (message: Message) => {
    const waiter = waiting.shift();
    if (waiter === undefined) responses.push(message);
    else waiter.resolve(message);
  });
  const status = new Promise<grpc.StatusObject>((resolve) => {
    call.on('status', (final: grpc.StatusObject) => {
      resolve(final);
      finish(new Error(`the stream ended with status ${final.code}: ${final.details}`));
    });
  });
  // A failed stream also emits 'error'; the status carries the same facts.
  call.on('error', () => undefined);
  return {
    write: (request) => void call.write(request),
    next: () => {
      const queued = responses.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      if (ended !== undefined) return Promise.reject(ended);
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    end: () => call.end(),
    cancel: () => call.cancel(),
    status,
  };
}

export interface Running {
  server: GrpcServerHandle;
  client: InferenceClient;
  stop(): Promise<void>;
}

export async function startOnLoopback(options: Omit<GrpcServerOptions, 'host' | 'port'>): Promise<Running> {
  const server = await startGrpcServer({ ...options, host: '127.0.0.1', port: 0 });
  const client = createClient(server.port);
  return {
    server,
    client,
    async stop() {
      client.close();
      await server.close();
    },
  };
}

/** BYTES raw layout: 4-byte little-endian length before each UTF-8 element. */
export function lengthPrefixed(strings: string[]): Buffer {
  return Buffer.concat(
    strings.flatMap((text) => {
      const bytes = Buffer.from(text, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bytes.byteLength);
      return [length, bytes];
    }),
  );
}

export function bytesOf(array: ArrayBufferView): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

/**
 * A document as a Triton client decodes it from the published `method`'s response: encoded and
 * decoded with the published definition, so it compares equal to what the client got from berth.
 */
export function asPublishedResponse(method: string, document: object): Message {
  const file = join(tritonProtoDir(), 'grpc_service.proto');
  const definition = loadSync(file, { ...protoLoaderOptions, includeDirs: [tritonProtoDir()] });
  const found = (definition[SERVICE_NAME] as ServiceDefinition)[method];
  if (found === undefined) throw new Error(`${file} has no method ${method}`);
  return found.responseDeserialize(found.responseSerialize(document)) as Message;
}

/** Bytes that are no protobuf message: protobufjs stops at "invalid wire type 4". */
export const GARBAGE = Buffer.from('this is not a protobuf message');

/** Awaits a call that must fail with `code` (and a message matching `pattern`); returns its error. */
export async function rejects(
  promise: Promise<unknown>,
  code: grpc.status,
  pattern?: RegExp,
): Promise<grpc.ServiceError> {
  const error = await promise.then(
    () => assert.fail('expected the call to fail'),
    (caught: unknown) => caught as grpc.ServiceError,
  );
  assert.equal(error.code, code, `status ${error.code} (${error.details})`);
  if (pattern) assert.match(error.details, pattern);
  return error;
}

/** A ModelInfer request for the linear fixture (y = x·[0.5,-1,2] + 0.25; [1,2,3] gives 4.75). */
export const linearRequest = (id: string, row = [1, 2, 3]): Message => ({
  model_name: 'linear',
  id,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: row } }],
});

/** The one FP32 output of a response, read from raw_output_contents. */
export function firstFloat(response: Message): number {
  const raw = (response.raw_output_contents as Buffer[])[0];
  assert.ok(raw, 'raw_output_contents[0]');
  return Buffer.from(raw).readFloatLE(0);
}

/**
 * Polls `check` every 10 ms until it holds or `timeoutMs` passes (a loaded machine can take
 * seconds); the caller asserts what it waited for.
 */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check()) && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 10));
}
