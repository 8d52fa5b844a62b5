/**
 * The worker's byte parser (json-bytes.ts, number-span.ts) against the path it replaced: UTF-8
 * text, JSON.parse, the tensor decoders on plain arrays. Every body, good or bad, must decode to
 * bit-identical tensors and the same other fields, or fail with the same code and message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BerthError } from '../../src/core/errors.js';
import { hasDynamicBatchDimension, type ModelSignature, type TensorDatatype } from '../../src/core/tensor.js';
import type { EncodedInferRequest, TensorValue } from '../../src/scoring/engine.js';
import { decodeBody, decodeParsed, type DecodedBody } from '../../src/scoring/engine/decode-body.js';
import { parseJsonBytes } from '../../src/scoring/protocols/json-bytes.js';
import { parseJsonText } from '../../src/scoring/protocols/json-text.js';
import { NumberArraySpan, SPAN_MIN_BYTES } from '../../src/scoring/protocols/number-span.js';
import { jsonToTensorData, nestedJsonToTensor } from '../../src/scoring/protocols/tensor-json.js';
import { seededRandom } from '../fixtures/random.js';

type Format = EncodedInferRequest['format'];
type Model = Parameters<typeof decodeBody>[2];

/** decodeBody as it was before the byte parser (JSON.parse of the text): the reference every answer is held to. */
function referenceDecode(format: Format, body: Uint8Array, model: Model): DecodedBody {
  const parsed = parseJsonText(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  return decodeParsed(format, parsed, model);
}

/** The answer as plain values (tensor data as its raw bytes), or the error's code and message. */
function outcome(decode: () => DecodedBody): unknown {
  try {
    const decoded = decode();
    const inputs: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(decoded.inputs)) inputs[name] = plainTensor(value);
    return { ...decoded, inputs };
  } catch (error) {
    return failure(error);
  }
}

function tensorOutcome(convert: () => TensorValue): unknown {
  try {
    return plainTensor(convert());
  } catch (error) {
    return failure(error);
  }
}

function plainTensor(value: TensorValue): unknown {
  const data = Array.isArray(value.data)
    ? value.data
    : Buffer.from(value.data.buffer, value.data.byteOffset, value.data.byteLength);
  return { datatype: value.datatype, shape: value.shape, data };
}

function failure(error: unknown): unknown {
  if (!(error instanceof BerthError)) throw error;
  return { code: error.code, message: error.message };
}

/** Decodes `body` both ways and checks the answers agree; returns the new path's answer. */
function agree(format: Format, body: string | Uint8Array, model: Model, label = ''): unknown {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const expected = outcome(() => referenceDecode(format, bytes, model));
  const actual = outcome(() => decodeBody(format, bytes, model));
  assert.deepStrictEqual(actual, expected, `${label} ${Buffer.from(bytes).toString('utf8').slice(0, 160)}`);
  return actual;
}

function isError(answer: unknown): boolean {
  return typeof answer === 'object' && answer !== null && 'code' in answer;
}

/** A model taking `inputs` (name, datatype, rank) with every dimension dynamic, and one output "y". */
function modelOf(inputs: [string, TensorDatatype, number][]): Model {
  const signature: ModelSignature = {
    inputs: inputs.map(([name, datatype, rank]) => ({
      name,
      datatype,
      shape: new Array<string>(rank).fill('?'),
    })),
    outputs: [{ name: 'y', datatype: 'FP32', shape: ['?'] }],
    opset: undefined,
    producer: undefined,
  };
  return { name: 'm', version: '1', signature, hasBatchDimension: hasDynamicBatchDimension(signature) };
}

const random = seededRandom(20240611);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const spaces = ['', '', '', '', ' ', '\n', '\t', '\r\n  ', '  '];
const ws = (): string => pick(spaces);

/** Number tokens that test the float readers: edges, midpoints, long and short decimals. */
const floatEdges = [
  '0',
  '-0',
  '0.0',
  '-0.0e5',
  '1',
  '1.0',
  '1e-7',
  '1E5',
  '1e+5',
  '-1.5E-3',
  '3.4028235e38',
  '3.4028234663852886e+38',
  '3.4028235677973362e38',
  '-3.4028235677973362e38',
  '1.0000000596046448',
  '1.00000005960464477539062500',
  '1.000000059604644775390625000001',
  '1.0000000596046447',
  '1.401298464324817e-45',
  '7.006492321624085e-46',
  '7.006492321624086e-46',
  '1.1754942e-38',
  '1.17549435e-38',
  '0.1',
  '0.30000000000000004',
  '12345678901234567890123',
  '1234567890123456789',
  '0.000000000000000000000000000000000000000000001',
  '123456789012345678901234567890e-30',
  '9007199254740993',
  '2.2250738585072014e-308',
  '4.9406564584124654e-324',
  '1.7976931348623157e308',
  '5e-324',
  '1e-400',
  '0e99999999',
  '1e-44',
  '1e-45',
  '1e-46',
  '1e38',
  '1e22',
  '1e23',
  '1e-22',
  '1e-23',
  '65504',
  '65519.99',
  '6.103515625e-5',
  '5.960464477539063e-8',
  '2.980232238769531e-8',
  '2.9802322387695312e-8',
];

const scratch32 = new Float32Array(1);
const scratchBits = new Uint32Array(scratch32.buffer);

/** A finite float32, from the whole range, printed as JSON.stringify prints it (a double). */
function float32Token(): string {
  scratchBits[0] = Math.floor(random() * 2 ** 32);
  const value = scratch32[0]!;
  return Number.isFinite(value) ? JSON.stringify(value) : '0.5';
}

/** A value at or next to the midpoint of two adjacent float32s, printed long or short. */
function midpointToken(): string {
  const low = Math.fround((random() - 0.5) * 10 ** Math.floor(random() * 20 - 10));
  scratch32[0] = low;
  scratchBits[0] = scratchBits[0]! + 1;
  const middle = (low + scratch32[0]) / 2;
  const nudge = pick([0, 0, 1, -1, 2 ** -30, -(2 ** -30)]) * Math.abs(middle) * 2 ** -52;
  const value = middle + nudge;
  return pick([JSON.stringify(value), value.toPrecision(17), value.toPrecision(25), value.toPrecision(40)]);
}

function doubleToken(): string {
  const value = (random() - 0.5) * 10 ** Math.floor(random() * 60 - 30);
  return pick([
    JSON.stringify(value),
    value.toPrecision(1 + Math.floor(random() * 21)),
    value.toExponential(8),
  ]);
}

function shortToken(): string {
  return String(Number(((random() - 0.5) * 1000).toFixed(Math.floor(random() * 5))));
}

function floatToken(): string {
  const roll = random();
  if (roll < 0.35) return float32Token();
  if (roll < 0.55) return midpointToken();
  if (roll < 0.75) return doubleToken();
  if (roll < 0.9) return shortToken();
  return pick(floatEdges);
}

const integerRanges: Partial<Record<TensorDatatype, [number, number]>> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  INT64: [-(2 ** 63), 2 ** 63],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  UINT64: [0, 2 ** 64],
};

function integerToken(datatype: TensorDatatype): string {
  const [min, max] = integerRanges[datatype]!;
  const roll = random();
  if (roll < 0.8) return String(Math.floor(min + random() * Math.min(max - min, 2 ** 40)));
  return pick([
    String(min),
    String(max),
    '0',
    '-0',
    '1.0',
    '1e2',
    '1E0',
    '25.0e-1',
    '9007199254740993',
    '18446744073709551615',
    '-9223372036854775808',
    '9223372036854775807',
    '4294967295',
  ]);
}

function tokens(datatype: TensorDatatype, count: number): string[] {
  const make = datatype in integerRanges ? () => integerToken(datatype) : floatToken;
  return Array.from({ length: count }, make);
}

function array(items: string[]): string {
  return `[${ws()}${items.join(`${ws()},${ws()}`)}${ws()}]`;
}

/** Row-major nesting of `items` into `shape`. */
function nested(items: string[], shape: number[]): string {
  const [size, ...rest] = shape;
  if (size === undefined || rest.length === 0) return array(items);
  const stride = rest.reduce((a, b) => a * b, 1);
  return array(
    Array.from({ length: size }, (_, i) => nested(items.slice(i * stride, (i + 1) * stride), rest)),
  );
}

const datatypes: TensorDatatype[] = [
  'FP32',
  'FP64',
  'FP16',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
];

function v2Body(name: string, datatype: TensorDatatype, shape: number[], data: string, extra = ''): string {
  return `{${ws()}"inputs"${ws()}:${ws()}[{"name":${JSON.stringify(name)},${ws()}"shape":[${shape.join(',')}],"datatype":"${datatype}",${ws()}"data":${ws()}${data}${ws()}}]${extra}}`;
}

describe('JSON bodies parsed from bytes on a worker', () => {
  it('decodes v2 bodies of every numeric datatype exactly as JSON.parse did', () => {
    for (let round = 0; round < 6; round++) {
      for (const datatype of datatypes) {
        const count = pick([3, 40, 300, 1200]);
        const items = tokens(datatype, count);
        const model = modelOf([['x', datatype, 1]]);
        agree('v2-json', v2Body('x', datatype, [count], array(items)), model, datatype);
        const rows = count / pick([1, count]);
        agree(
          'v2-json',
          v2Body('x', datatype, [rows, count / rows], nested(items, [rows, count / rows])),
          modelOf([['x', datatype, 2]]),
          datatype,
        );
      }
    }
  });

  it('converts spans as it converts arrays, for every datatype, FP64 included', () => {
    // A model taking FP64 keeps its bodies on JSON.parse, so the FP64 reading is checked here.
    const mixes: [string, () => string][] = [
      ['long', doubleToken],
      ['short', shortToken],
      ['mostly short', () => (random() < 0.95 ? shortToken() : doubleToken())],
    ];
    for (const datatype of [...datatypes, 'BOOL', 'BYTES'] as const) {
      for (const [mix, make] of mixes) {
        const items = datatype in integerRanges ? tokens(datatype, 300) : Array.from({ length: 300 }, make);
        const text = nested(items, [3, 100]);
        const span = (parseJsonBytes(Buffer.from(`{"data":${text}}`), 'azure-json') as { data: unknown })
          .data;
        assert.ok(span instanceof NumberArraySpan);
        const plain = JSON.parse(text) as unknown;
        const flat = (data: unknown) =>
          tensorOutcome(() => ({
            datatype,
            shape: [300],
            data: jsonToTensorData('x', datatype, [300], data),
          }));
        const nest = (data: unknown) => tensorOutcome(() => nestedJsonToTensor('x', datatype, data));
        assert.deepStrictEqual(flat(span), flat(plain), `${datatype} ${mix}`);
        assert.deepStrictEqual(nest(span), nest(plain), `${datatype} ${mix}`);
      }
    }
  });

  it('reads FP32 values bit for bit, edges and midpoints included', () => {
    const items = [...floatEdges, ...Array.from({ length: 20_000 }, floatToken)];
    const model = modelOf([['x', 'FP32', 1]]);
    const answer = agree('v2-json', v2Body('x', 'FP32', [items.length], array(items)), model);
    // Many of these are out of FP32 range: check the readers on the span itself too.
    assert.ok(isError(answer));
    const body = Buffer.from(`{"data":[${items.join(',')}]}`);
    const span = (parseJsonBytes(body, 'azure-json') as { data: unknown }).data;
    assert.ok(span instanceof NumberArraySpan);
    for (let i = 0; i < items.length; i++) {
      const expected = JSON.parse(items[i]!) as number;
      assert.ok(Object.is(span.float32(i), Math.fround(expected)), items[i]);
      assert.ok(Object.is(span.number(i), expected), items[i]);
    }
  });

  it('decodes a span far larger than the scratch space it keeps, and the next one', () => {
    const model = modelOf([['x', 'INT32', 1]]);
    for (const count of [100_000, 300]) {
      const items = Array.from({ length: count }, (_, i) => String((i % 19) - 9));
      const answer = agree('v2-json', v2Body('x', 'INT32', [count], array(items)), model);
      assert.ok(!isError(answer));
    }
  });

  it('decodes /score bodies, nested and by input name, exactly as JSON.parse did', () => {
    for (const shape of [[1, 3, 8, 16], [2, 300], [700], [4, 1, 1, 50], [1]]) {
      const count = shape.reduce((a, b) => a * b, 1);
      for (const datatype of ['FP32', 'FP64', 'INT32', 'FP16'] as const) {
        const items = tokens(datatype, count);
        const model = modelOf([['x', datatype, shape.length]]);
        agree('azure-json', `{"data":${ws()}${nested(items, shape)}}`, model);
        const two = modelOf([
          ['x', datatype, shape.length],
          ['z', 'FP32', 2],
        ]);
        const other = nested(tokens('FP32', 600), [2, 300]);
        agree('azure-json', `{"inputs":{"z":${other},"x":${nested(items, shape)}}}`, two);
      }
    }
  });

  it('keeps the other fields: ids and names with escapes and unicode, outputs, parameters', () => {
    const data = array(Array.from({ length: 400 }, float32Token));
    const model = modelOf([['é x\u2028', 'FP32', 1]]);
    model.signature.outputs.push({ name: 'out \u00e9\ud83d\ude00', datatype: 'FP32', shape: ['?'] });
    for (const id of [
      'plain',
      'é',
      '\u00e9\ud83d\ude00',
      'tab\\there',
      '\\u00e9\\ud83d\\ude00',
      '\\"quoted\\"',
      '\\ud800 lone',
      '',
    ]) {
      const extra = `,"id":"${id}","outputs":[{"name":"y"},{"name":"out \u00e9\\ud83d\\ude00","parameters":{"binary_data":true}}],"parameters":{"binary_data_output":false,"list":[1,2.5,"a",null,true,{"k":[]}]}`;
      const answer = agree('v2-json', v2Body('é x\u2028', 'FP32', [400], data, extra), model, id);
      assert.ok(!isError(answer), JSON.stringify(answer));
    }
  });

  it('answers every malformed body with the same error as before', () => {
    const model = modelOf([['x', 'FP32', 1]]);
    const good = tokens('FP32', 200);
    const grammar = [
      '01',
      '1.',
      '.5',
      '1e',
      '+1',
      'NaN',
      '-',
      '1e+',
      '--1',
      '0x10',
      'Infinity',
      '1.5e',
      '1 2',
      '',
      '"1"',
      'null',
      'true',
      '{}',
      '[1]',
      '1.2.3',
      '-01',
      '00',
      '1e1.5',
      '\u00a01',
      '\u20281',
    ];
    for (const bad of grammar) {
      for (const at of [0, 100, 199]) {
        const items = [...good];
        items[at] = bad;
        agree('v2-json', v2Body('x', 'FP32', [200], `[${items.join(',')}]`), model, bad);
        agree('azure-json', `{"data":[${items.join(',')}]}`, model, bad);
      }
    }
    const body = v2Body('x', 'FP32', [200], array(good));
    const broken = [
      body.replace(']}]}', ',]}]}'),
      body.replace(']}]}', '}]}'),
      body.replace(']}]}', ']]}]}'),
      body.replace('"data":', '"data":['),
      body.replace('{', '{"inputs":1,'),
      body.replace('"inputs"', '"__proto__":{"a":1},"inputs"'),
      body.replace('"name"', '"__proto__":[],"name"'),
      body.replace('"name"', '"\\u005f_proto__":[],"name"'),
      body.replace('"x"', '"x\u0001"'),
      body.replace('"x"', '"x\\q"'),
      `\ufeff${body}`,
      `${body}x`,
      `${body} {}`,
      '',
      ' \n ',
      'nul',
      '[1,2',
      '{"inputs":[]}',
      '[1, 2, 3]',
      '"text"',
      '12',
    ];
    for (const text of broken) agree('v2-json', text, model);
    for (let cut = 0; cut < body.length; cut += Math.max(1, Math.floor(body.length / 97)))
      agree('v2-json', body.slice(0, cut), model, `cut ${cut}`);
  });

  it('answers counts, raggedness, depth and range errors with the same message as before', () => {
    // In range, so that no element error hides a structure error.
    const items = Array.from({ length: 240 }, float32Token);
    const flat = array(items);
    const cases: [Format, string, Model][] = [
      ['v2-json', v2Body('x', 'FP32', [241], flat), modelOf([['x', 'FP32', 1]])],
      ['v2-json', v2Body('x', 'FP32', [239], flat), modelOf([['x', 'FP32', 1]])],
      [
        'v2-json',
        v2Body('x', 'FP32', [2, 120], `[${items[0]},${nested(items.slice(1, 241), [2, 120])}]`),
        modelOf([['x', 'FP32', 2]]),
      ],
      [
        'v2-json',
        v2Body('x', 'FP32', [240], `[${nested(items.slice(0, 120), [120])},${items.slice(120).join(',')}]`),
        modelOf([['x', 'FP32', 1]]),
      ],
      [
        'v2-json',
        v2Body('x', 'FP32', [240], `${'['.repeat(33)}${flat}${']'.repeat(33)}`),
        modelOf([['x', 'FP32', 1]]),
      ],
      [
        'v2-json',
        v2Body('x', 'FP32', [240], `${'['.repeat(30)}${flat}${']'.repeat(30)}`),
        modelOf([['x', 'FP32', 1]]),
      ],
      [
        'v2-json',
        v2Body('x', 'FP32', [240], `[[],${nested(items, [2, 120])},[[]]]`),
        modelOf([['x', 'FP32', 1]]),
      ],
      ['v2-json', v2Body('x', 'INT8', [240], flat), modelOf([['x', 'INT8', 1]])],
      [
        'v2-json',
        v2Body('x', 'BOOL', [240], array(items.map((_, i) => String(i % 2)))),
        modelOf([['x', 'BOOL', 1]]),
      ],
      [
        'v2-json',
        v2Body('x', 'BOOL', [240], array(items.map((_, i) => (i % 2 ? 'true' : 'false')))),
        modelOf([['x', 'BOOL', 1]]),
      ],
      ['v2-json', v2Body('x', 'BYTES', [240], flat), modelOf([['x', 'BYTES', 1]])],
      [
        'v2-json',
        v2Body('x', 'BYTES', [240], array(items.map((item) => JSON.stringify(`é${item}`)))),
        modelOf([['x', 'BYTES', 1]]),
      ],
      [
        'v2-json',
        v2Body('x', 'FP16', [240], array(items.map((_, i) => String(60000 + i * 10)))),
        modelOf([['x', 'FP16', 1]]),
      ],
      ['v2-json', v2Body('x', 'FP32', [240], flat, ',"inputs":[]'), modelOf([['x', 'FP32', 1]])],
      [
        'v2-json',
        v2Body('x', 'FP32', [240], flat).replace('"data":', '"parameters":{"binary_data_size":4},"data":'),
        modelOf([['x', 'FP32', 1]]),
      ],
      [
        'azure-json',
        `{"data":${nested(items, [2, 120])},"data":${nested(items, [240])}}`,
        modelOf([['x', 'FP32', 1]]),
      ],
      [
        'azure-json',
        `{"data":${nested(items, [2, 120])},"data":${nested(items, [240]).replace(',', ',01')}}`,
        modelOf([['x', 'FP32', 1]]),
      ],
      [
        'azure-json',
        `{"data":[${nested(items.slice(0, 120), [120])},${nested(items.slice(120, 239), [119])}]}`,
        modelOf([['x', 'FP32', 2]]),
      ],
      [
        'azure-json',
        `{"data":[${nested(items.slice(0, 120), [120])},${items.slice(120).join(',')}]}`,
        modelOf([['x', 'FP32', 2]]),
      ],
      [
        'azure-json',
        `{"data":[${nested(items.slice(0, 120), [120])},[${nested(items.slice(120), [120])}]]}`,
        modelOf([['x', 'FP32', 2]]),
      ],
      ['azure-json', `{"data":[[],${nested(items, [2, 120])}]}`, modelOf([['x', 'FP32', 3]])],
      // Every level as long as the others, but a value where an array goes (and the reverse).
      [
        'azure-json',
        `{"data":[${items[0]},${nested(items.slice(1, 211), [14, 15]).slice(1, -1)}]}`,
        modelOf([['x', 'FP32', 2]]),
      ],
      [
        'azure-json',
        `{"data":[${nested(items.slice(0, 210), [14, 15]).slice(1, -1)},${items[0]}]}`,
        modelOf([['x', 'FP32', 2]]),
      ],
      [
        'v2-json',
        v2Body('x', 'FP32', [240], `[${items[0]},${nested(items.slice(1, 240), [239])}]`),
        modelOf([['x', 'FP32', 1]]),
      ],
      [
        'v2-json',
        v2Body('x', 'FP32', [240], `[${nested(items.slice(1, 240), [239])},${items[0]}]`),
        modelOf([['x', 'FP32', 1]]),
      ],
      ['azure-json', `{"data":${'['.repeat(31)}${flat}${']'.repeat(31)}}`, modelOf([['x', 'FP32', 32]])],
      ['azure-json', `{"data":${'['.repeat(32)}${flat}${']'.repeat(32)}}`, modelOf([['x', 'FP32', 33]])],
      ['azure-json', `{"data":${flat},"inputs":{"x":${flat}}}`, modelOf([['x', 'FP32', 1]])],
      ['azure-json', `{"inputs":{"x":${flat},"z":${flat}}}`, modelOf([['x', 'FP32', 1]])],
      ['azure-json', `{"data":${flat}}`, modelOf([['x', 'UINT8', 1]])],
      ['azure-json', `{"data":${flat}}`, modelOf([['x', 'FP32', 2]])],
    ];
    for (const [format, body, model] of cases) agree(format, body, model);
  });

  it('leaves spans only where tensor data goes', () => {
    const big = array(tokens('FP32', 300));
    assert.ok(big.length >= SPAN_MIN_BYTES);
    const v2 = parseJsonBytes(
      Buffer.from(
        `{"id":"a","inputs":[{"name":"x","data":${big},"parameters":{"data":${big}}}],"parameters":{"inputs":${big}},"data":${big}}`,
      ),
      'v2-json',
    ) as {
      inputs: { data: unknown; parameters: { data: unknown } }[];
      parameters: { inputs: unknown };
      data: unknown;
    };
    assert.ok(v2.inputs[0]!.data instanceof NumberArraySpan);
    assert.ok(Array.isArray(v2.inputs[0]!.parameters.data));
    assert.ok(Array.isArray(v2.parameters.inputs));
    assert.ok(Array.isArray(v2.data));
    const score = parseJsonBytes(
      Buffer.from(`{"data":${big},"inputs":{"x":${big},"y":[1,2]},"other":${big}}`),
      'azure-json',
    ) as Record<string, unknown> & { inputs: Record<string, unknown> };
    assert.ok(score.data instanceof NumberArraySpan);
    assert.ok(score.inputs.x instanceof NumberArraySpan);
    assert.deepStrictEqual(score.inputs.y, [1, 2]);
    assert.ok(Array.isArray(score.other));
    assert.deepStrictEqual(score.data.materialize(), JSON.parse(big));
  });

  it('parses any other JSON exactly as JSON.parse does', () => {
    const documents = [
      '{"a":1,"b":[1,2,{"c":"d"}],"e":null,"f":true,"g":false,"h":-0,"i":1e400,"j":"\\u0000\\n\\"","k":{}}',
      '{"2":1,"1":2,"b":3,"a":4,"b":5}',
      '{"constructor":1,"toString":[],"hasOwnProperty":{},"__defineGetter__":2}',
      '{"__proto__":{"polluted":true}}',
      '{"a":{"__proto__":[]}}',
      `{"deep":${'['.repeat(700)}${']'.repeat(700)}}`,
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xf0, 0x9f, 0x98, 0x22, 0x7d]),
      Buffer.from([0x7b, 0x22, 0xe2, 0x82, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xff, 0x22, 0x7d]),
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0x5c, 0x6e, 0xf0, 0x9f, 0x98, 0x22, 0x7d]),
      '{"unicode":"é☃😀\u2028\u2029","escaped":"\\u00e9\\ud83d\\ude00\\/\\b\\f\\r\\t"}',
      ' \n\t\r{ "a" : [ 1 , 2 ] } \n',
    ];
    for (const document of documents) {
      const bytes = typeof document === 'string' ? Buffer.from(document) : document;
      for (const format of ['v2-json', 'azure-json'] as const) {
        const expected = JSON.parse(bytes.toString('utf8')) as unknown;
        const actual = parseJsonBytes(bytes, format);
        assert.deepStrictEqual(actual, expected);
        assert.equal(Object.getPrototypeOf(actual), Object.getPrototypeOf(expected));
        assert.deepStrictEqual(Object.keys(actual as object), Object.keys(expected as object));
      }
    }
    assert.throws(() => parseJsonBytes(Buffer.from(''), 'v2-json'), /the body is empty/);
  });

  it('agrees with the old path on byte-mutated bodies (seeded fuzz)', () => {
    const alphabet = Buffer.from('0123456789.eE-+,[]{}":\\ \nx');
    const models: [Format, string, Model][] = [
      [
        'v2-json',
        v2Body('x', 'FP32', [150], array(tokens('FP32', 150)), ',"id":"é"'),
        modelOf([['x', 'FP32', 1]]),
      ],
      [
        'v2-json',
        v2Body('x', 'INT32', [3, 50], nested(tokens('INT32', 150), [3, 50])),
        modelOf([['x', 'INT32', 2]]),
      ],
      ['azure-json', `{"data":${nested(tokens('FP32', 150), [3, 50])}}`, modelOf([['x', 'FP32', 2]])],
      [
        'azure-json',
        `{"inputs":{"x":${nested(tokens('INT64', 150), [3, 50])}}}`,
        modelOf([['x', 'INT64', 2]]),
      ],
    ];
    const deadline = Date.now() + 2500;
    let cases = 0;
    while (Date.now() < deadline && cases < 6000) {
      const [format, text, model] = pick(models);
      const bytes = Buffer.from(text);
      const edits = 1 + Math.floor(random() * 3);
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(random() * bytes.length);
        bytes[at] = random() < 0.8 ? pick([...alphabet]) : Math.floor(random() * 256);
      }
      agree(format, bytes, model, `case ${cases}`);
      cases++;
    }
    assert.ok(cases > 500, `only ${cases} cases ran`);
  });
});
