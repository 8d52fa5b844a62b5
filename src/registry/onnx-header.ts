/**
 * Reads the few `ModelProto` fields ONNX Runtime's session does not report — the opset and the
 * producer — without reading the graph. The graph (field 7) holds the weights and sits *before*
 * `opset_import` (field 8), so a full decode would read the whole model; instead this walks the
 * top-level fields with positional reads, reading only the small fields it wants and skipping the
 * rest by their length prefix. A multi-gigabyte model costs a few dozen small reads.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import onnxProto from 'onnx-proto';

// onnx-proto is CommonJS; Node's ESM loader only exposes its `module.exports` as the default.
const { OperatorSetIdProto } = onnxProto.onnx;

export interface OnnxHeader {
  /** The default-domain (`''` or `ai.onnx`) opset; undefined when the model imports none. */
  opset: number | undefined;
  /** `producer_name` and `producer_version` joined by a space; undefined when the name is empty. */
  producer: string | undefined;
}

const fields = { producerName: 2, producerVersion: 3, opsetImport: 8 } as const;
const wantedFields = new Set<number>(Object.values(fields));
/** A tag and a length prefix are two varints of at most 10 bytes each. */
const prefixBytes = 20;
/** Small fields only: a producer string or one opset entry longer than this is not a real model. */
const maxWantedFieldBytes = 64 * 1024;

/** Throws a plain Error on a malformed file; the caller has already validated it with ONNX Runtime. */
export async function readOnnxHeader(path: string): Promise<OnnxHeader> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    let producerName = '';
    let producerVersion = '';
    let opset: number | undefined;
    for (let position = 0; position < size;) {
      const prefix = await readAt(file, position, Math.min(prefixBytes, size - position));
      const tag = readVarint(prefix, 0);
      const field = Math.floor(tag.value / 8);
      const wireType = tag.value % 8;
      const body = skipLength(prefix, tag.next, wireType);
      const end = position + body.start + body.length;
      if (end > size) throw new Error(`field ${field} runs past the end of the file`);
      if (wantedFields.has(field) && wireType === 2) {
        if (body.length > maxWantedFieldBytes) throw new Error(`field ${field} is ${body.length} bytes`);
        const bytes = await readAt(file, position + body.start, body.length);
        if (field === fields.producerName) producerName = new TextDecoder().decode(bytes);
        else if (field === fields.producerVersion) producerVersion = new TextDecoder().decode(bytes);
        else {
          const entry = OperatorSetIdProto.decode(bytes);
          if (entry.domain === '' || entry.domain === 'ai.onnx') opset = Number(entry.version);
        }
      }
      position = end;
    }
    const producer = producerName === '' ? undefined : `${producerName} ${producerVersion}`.trim();
    return { opset, producer };
  } finally {
    await file.close();
  }
}

async function readAt(file: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  const { bytesRead } = await file.read(buffer, 0, length, position);
  if (bytesRead !== length) throw new Error(`short read at byte ${position}`);
  return buffer;
}

/** Where a field's payload starts (relative to the tag) and how long it is, by protobuf wire type. */
function skipLength(
  prefix: Uint8Array,
  afterTag: number,
  wireType: number,
): { start: number; length: number } {
  switch (wireType) {
    case 0: {
      const varint = readVarint(prefix, afterTag);
      return { start: afterTag, length: varint.next - afterTag };
    }
    case 1:
      return { start: afterTag, length: 8 };
    case 2: {
      const length = readVarint(prefix, afterTag);
      return { start: length.next, length: length.value };
    }
    case 5:
      return { start: afterTag, length: 4 };
    default:
      // Groups (3, 4) are deprecated and ONNX never writes them; anything else is corruption.
      throw new Error(`unsupported protobuf wire type ${wireType}`);
  }
}

/** Decodes a varint as a JS number: exact up to 2^53, far beyond any file offset or field number. */
function readVarint(bytes: Uint8Array, offset: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = offset; i < bytes.length && i < offset + 10; i++) {
    const byte = bytes[i] ?? 0;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return { value, next: i + 1 };
    scale *= 128;
  }
  throw new Error(`truncated varint at byte ${offset}`);
}
