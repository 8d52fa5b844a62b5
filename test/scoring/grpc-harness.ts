/**
 * Shared pieces of the gRPC front-end tests: a real @grpc/grpc-js client built from berth's own
 * proto, promisified, and a server started on a loopback port around an engine.
 */
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoLoaderOptions, protoPath } from '../../src/scoring/grpc/index.js';
import {
  startGrpcServer,
  type GrpcServerHandle,
  type GrpcServerOptions,
} from '../../src/scoring/grpc/index.js';

export type Message = Record<string, unknown>;

export interface InferenceClient {
  call(method: string, request: Message, options?: { key?: string; deadlineMs?: number }): Promise<Message>;
  close(): void;
}

export function createClient(port: number): InferenceClient {
  const loaded = grpc.loadPackageDefinition(loadSync(protoPath(), protoLoaderOptions));
  const Service = (loaded.inference as grpc.GrpcObject).GRPCInferenceService as grpc.ServiceClientConstructor;
  const client = new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    call(method, request, options = {}) {
      const metadata = new grpc.Metadata();
      if (options.key !== undefined) metadata.set('authorization', `Bearer ${options.key}`);
      const callOptions: grpc.CallOptions = {};
      if (options.deadlineMs !== undefined) callOptions.deadline = Date.now() + options.deadlineMs;
      return new Promise((resolve, reject) => {
        const fn = client[method] as (
          request: Message,
          metadata: grpc.Metadata,
          options: grpc.CallOptions,
          callback: (error: grpc.ServiceError | null, response: Message) => void,
        ) => void;
        fn.call(client, request, metadata, callOptions, (error, response) =>
          error ? reject(error) : resolve(response),
        );
      });
    },
    close: () => client.close(),
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
