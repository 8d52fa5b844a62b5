/**
 * A request whose bytes are not a protobuf message of the method's request type is the client's
 * mistake, yet grpc-js answers a deserializer that throws with INTERNAL ("Error deserializing
 * request"), a server fault. So each method's deserializer is wrapped: instead of throwing it
 * returns a MalformedMessage, and the handlers answer that with INVALID_ARGUMENT (on a stream: an
 * error response, and the stream goes on), like any other bad input.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/proto-loader';
import { BerthError, toBerthError } from '../../core/errors.js';

export class MalformedMessage {
  constructor(readonly error: BerthError) {}
}

export function tolerateMalformed(service: ServiceDefinition): ServiceDefinition {
  const tolerant: ServiceDefinition = {};
  for (const [name, method] of Object.entries(service)) {
    tolerant[name] = { ...method, requestDeserialize: tolerantDeserializer(name, method) };
  }
  return tolerant;
}

function tolerantDeserializer(
  name: string,
  method: MethodDefinition<object, object>,
): (bytes: Buffer) => object {
  const typeName = messageName(method);
  const deserialize = method.requestDeserialize;
  return (bytes) => {
    try {
      return deserialize(bytes);
    } catch (error) {
      return new MalformedMessage(
        new BerthError(
          'BAD_INPUT',
          `the ${name} request is not a valid ${typeName} message (${bytes.byteLength} bytes): ${toBerthError(error).message}`,
          { cause: error },
        ),
      );
    }
  };
}

function messageName(method: MethodDefinition<object, object>): string {
  const name = (method.requestType.type as { name?: unknown }).name;
  return typeof name === 'string' ? name : 'protobuf';
}
