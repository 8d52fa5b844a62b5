/**
 * berth's proto/ against Triton's published definitions (test/scoring/grpc-triton, unmodified):
 * every message, field, enum value and RPC berth declares must exist there with the same number,
 * label and type, so bytes berth writes decode as Triton's clients expect and bytes they write
 * decode as berth expects. (Oneof membership is not compared: it does not change the wire form.)
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { protoPath, SERVICE_NAME } from '../../src/scoring/grpc/index.js';
import { tritonProtoDir } from './grpc-harness.js';

interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}

interface MessageDescriptor {
  name: string;
  field: FieldDescriptor[];
  nestedType: MessageDescriptor[];
  enumType: EnumDescriptor[];
}

interface EnumDescriptor {
  name: string;
  value: { name: string; number: number }[];
}

interface MethodShape {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestType: { type: { name: string } };
  responseType: { type: { name: string } };
}

const load = (file: string): PackageDefinition => loadSync(file, { keepCase: true });
const berth = load(protoPath());
const published = load(join(tritonProtoDir(), 'grpc_service.proto'));

/** A type reference as written ('.inference.X', 'inference.X' or 'X'): its last name is what matters here. */
const shortName = (typeName: string): string => typeName.slice(typeName.lastIndexOf('.') + 1);

function isMessage(value: unknown): value is { type: MessageDescriptor } {
  return (
    (value as { format?: string }).format?.endsWith('DescriptorProto') === true &&
    'field' in (value as { type: object }).type
  );
}

function isEnum(value: unknown): value is { type: EnumDescriptor } {
  return (value as { format?: string }).format?.endsWith('EnumDescriptorProto') === true;
}

function compareMessage(path: string, ours: MessageDescriptor, theirs: MessageDescriptor): number {
  let fields = 0;
  for (const field of ours.field) {
    const match = theirs.field.find((candidate) => candidate.name === field.name);
    assert.ok(match, `${path}.${field.name}: not in the published message`);
    assert.equal(field.number, match.number, `${path}.${field.name}: field number`);
    assert.equal(field.label, match.label, `${path}.${field.name}: label`);
    assert.equal(field.type, match.type, `${path}.${field.name}: type`);
    assert.equal(shortName(field.typeName), shortName(match.typeName), `${path}.${field.name}: type name`);
    fields += 1;
  }
  for (const nested of ours.nestedType) {
    const match = theirs.nestedType.find((candidate) => candidate.name === nested.name);
    assert.ok(match, `${path}.${nested.name}: no such nested message in the published one`);
    fields += compareMessage(`${path}.${nested.name}`, nested, match);
  }
  for (const nested of ours.enumType) {
    const match = theirs.enumType.find((candidate) => candidate.name === nested.name);
    assert.ok(match, `${path}.${nested.name}: no such nested enum in the published one`);
    compareEnum(`${path}.${nested.name}`, nested, match);
  }
  return fields;
}

function compareEnum(path: string, ours: EnumDescriptor, theirs: EnumDescriptor): void {
  for (const value of ours.value) {
    const match = theirs.value.find((candidate) => candidate.name === value.name);
    assert.ok(match, `${path}.${value.name}: not in the published enum`);
    assert.equal(value.number, match.number, `${path}.${value.name}: number`);
  }
}

describe("berth's proto against Triton's published one", () => {
  it('declares every message with the published field numbers, labels and types', () => {
    let messages = 0;
    let fields = 0;
    for (const [name, definition] of Object.entries(berth)) {
      if (!isMessage(definition)) continue;
      const theirs = published[name];
      assert.ok(theirs !== undefined && isMessage(theirs), `${name}: not a published message`);
      fields += compareMessage(name, definition.type, theirs.type);
      messages += 1;
    }
    // The walk covered berth's whole proto, model configuration included.
    assert.ok(messages >= 35, `${messages} messages compared`);
    assert.ok(fields >= 120, `${fields} fields compared`);
    assert.ok(isMessage(berth['inference.ModelConfig']));
  });

  it('gives every enum value its published number', () => {
    const dataType = berth['inference.DataType'];
    assert.ok(dataType !== undefined && isEnum(dataType));
    for (const [name, definition] of Object.entries(berth)) {
      if (!isEnum(definition)) continue;
      const theirs = published[name];
      assert.ok(theirs !== undefined && isEnum(theirs), `${name}: not a published enum`);
      compareEnum(name, definition.type, theirs.type);
    }
  });

  it('serves a subset of the published RPCs, each with the published types and streaming', () => {
    const ours = berth[SERVICE_NAME] as unknown as Record<string, MethodShape>;
    const theirs = published[SERVICE_NAME] as unknown as Record<string, MethodShape>;
    assert.deepEqual(Object.keys(ours).sort(), [
      'ModelConfig',
      'ModelInfer',
      'ModelMetadata',
      'ModelReady',
      'ModelStatistics',
      'ModelStreamInfer',
      'RepositoryIndex',
      'RepositoryModelLoad',
      'RepositoryModelUnload',
      'ServerLive',
      'ServerMetadata',
      'ServerReady',
    ]);
    for (const [name, method] of Object.entries(ours)) {
      const match = theirs[name];
      assert.ok(match, `${name}: not a published RPC`);
      assert.equal(method.path, match.path, name);
      assert.equal(method.requestStream, match.requestStream, `${name}: request streaming`);
      assert.equal(method.responseStream, match.responseStream, `${name}: response streaming`);
      assert.equal(method.requestType.type.name, match.requestType.type.name, `${name}: request type`);
      assert.equal(method.responseType.type.name, match.responseType.type.name, `${name}: response type`);
    }
  });

  it('catches a field whose number differs', () => {
    // The comparison itself must be able to fail: a copy of a message with one number changed.
    const config = berth['inference.ModelConfig'];
    const theirs = published['inference.ModelConfig'];
    assert.ok(isMessage(config) && isMessage(theirs));
    const changed: MessageDescriptor = {
      ...config.type,
      field: config.type.field.map((field) => (field.name === 'backend' ? { ...field, number: 18 } : field)),
    };
    assert.throws(
      () => compareMessage('inference.ModelConfig', changed, theirs.type),
      /backend: field number/,
    );
  });
});
