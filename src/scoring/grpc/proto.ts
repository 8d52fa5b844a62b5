/**
 * Loads berth's copy of the Open Inference Protocol v2 gRPC definition (`proto/grpc_service.proto`
 * and the `proto/model_config.proto` it imports, shipped in the package) into a grpc-js service
 * definition.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { BerthError } from '../../core/errors.js';
import { tolerateMalformed } from './malformed.js';

export const PROTO_FILE = join('proto', 'grpc_service.proto');
export const SERVICE_NAME = 'inference.GRPCInferenceService';

/**
 * The options both the server and berth's own clients (tests, bench) decode with:
 * - `longs: String` keeps INT64/UINT64 contents exact (a JS number loses precision past 2^53);
 *   the decoders turn them into BigInts, shapes into numbers after a range check.
 * - bytes stay Buffers (proto-loader's default), views into the received message, so raw
 *   contents reach the engine without a copy.
 * - `defaults` and `arrays` fill absent fields, so handlers never test for undefined.
 */
export const protoLoaderOptions = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
} as const;

/**
 * The package root is the nearest folder above this module holding the proto file; the module
 * runs from `src/scoring/grpc` (source), `dist/src/scoring/grpc` (compiled) or a bundle next to a
 * copied `proto/` folder, so walk up rather than assume a depth.
 */
export function findPackageRoot(start = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, PROTO_FILE))) return dir;
    if (dirname(dir) === dir) {
      throw new BerthError('INTERNAL', `cannot find ${PROTO_FILE} in any folder above ${start}`);
    }
  }
}

export function protoPath(): string {
  return join(findPackageRoot(), PROTO_FILE);
}

/** The service as the server adds it: a malformed request reaches its handler as a MalformedMessage. */
export function loadInferenceService(): ServiceDefinition {
  const definition = loadSync(protoPath(), { ...protoLoaderOptions, includeDirs: [dirname(protoPath())] });
  const service = definition[SERVICE_NAME];
  if (service === undefined || !('ModelInfer' in service)) {
    throw new BerthError('INTERNAL', `${protoPath()} does not define ${SERVICE_NAME}`);
  }
  return tolerateMalformed(service);
}

/** The version in the package's own package.json, reported by ServerMetadata. */
export function packageVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(join(findPackageRoot(), 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof manifest.version === 'string' ? manifest.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
