import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeToPython, FRAME, FrameReader, type DecodedFrame } from './frames.js';

function frame(kind: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from([kind]), ...parts]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

const u16 = (value: number): Buffer => Buffer.from([value >> 8, value & 0xff]);
const u32 = (value: number): Buffer => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
};
const f64 = (value: number): Buffer => {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleBE(value);
  return bytes;
};

describe('Python worker frames', () => {
  it('reads frames split across chunks and several frames in one chunk', () => {
    const type = Buffer.from('application/json');
    const answer = Buffer.from('[[0.25,"é"]]');
    const bytes = Buffer.concat([
      frame(FRAME.json, Buffer.from(JSON.stringify({ type: 'log', message: 'é'.repeat(3) }))),
      frame(FRAME.result, u32(7), u16(200), Buffer.from([0]), f64(1234), u16(type.length), type, answer),
      frame(
        FRAME.results,
        u32(8),
        f64(99),
        u32(2),
        Buffer.from([1]),
        u16(201),
        Buffer.from([1]),
        f64(40),
        u16(3),
        Buffer.from('a/b'),
        u32(2),
        Buffer.from([0xff, 0x00]),
        Buffer.from([0]),
        u16(9),
        Buffer.from('BAD_INPUT'),
        u32(4),
        Buffer.from('nope'),
      ),
    ]);
    const expected: DecodedFrame[] = [
      { type: 'json', message: { type: 'log', message: 'ééé' } },
      {
        type: 'result',
        id: 7,
        status: 200,
        binary: false,
        execNs: 1234,
        contentType: 'application/json',
        body: answer,
      },
      {
        type: 'results',
        id: 8,
        execNs: 99,
        results: [
          { status: 201, binary: true, execNs: 40, contentType: 'a/b', body: Buffer.from([0xff, 0x00]) },
          { code: 'BAD_INPUT', message: 'nope' },
        ],
      },
    ];
    for (const size of [1, 3, 7, bytes.length]) {
      const read: DecodedFrame[] = [];
      const reader = new FrameReader((decoded) => read.push(decoded));
      for (let at = 0; at < bytes.length; at += size) reader.push(bytes.subarray(at, at + size));
      assert.deepEqual(read, expected, `chunks of ${size} bytes`);
    }
  });

  it('refuses a frame that ends before its fields do', () => {
    const reader = new FrameReader(() => assert.fail('no frame expected'));
    assert.throws(() => reader.push(frame(FRAME.result, u32(1), u16(200))), RangeError);
    assert.throws(() => new FrameReader(() => undefined).push(frame(99)), /unknown frame kind 99/);
  });

  it('sends a body as its bytes, after the kind, call id and request id', () => {
    const body = Buffer.from('{"data":[[1,"é"]]}');
    const bytes = encodeToPython({ type: 'run', id: 5, requestId: 'r-1', body });
    assert.equal(bytes.readUInt32BE(0), bytes.length - 4);
    assert.equal(bytes[4], FRAME.run);
    assert.equal(bytes.readUInt32BE(5), 5);
    assert.equal(bytes.readUInt16BE(9), 3);
    assert.equal(bytes.subarray(11, 14).toString(), 'r-1');
    assert.deepEqual(bytes.subarray(14), body);
    const none = encodeToPython({ type: 'run', id: 6, requestId: null, body: 'x' });
    assert.equal(none.readUInt16BE(9), 0);
    assert.equal(none.subarray(11).toString(), 'x');
  });

  it('sends grouped bodies with their mode, request ids and lengths', () => {
    const bytes = encodeToPython({
      type: 'runs',
      id: 2,
      requestId: 'a,b',
      bodies: [
        { requestId: 'a', body: 'xy' },
        { requestId: null, body: Buffer.from('z') },
      ],
      each: true,
    });
    assert.equal(bytes.readUInt16BE(9), 3);
    const payload = bytes.subarray(14);
    assert.equal(payload[0], 1);
    assert.equal(payload.readUInt32BE(1), 2);
    assert.equal(payload.readUInt16BE(5), 1);
    assert.equal(payload.subarray(7, 8).toString(), 'a');
    assert.equal(payload.readUInt32BE(8), 2);
    assert.equal(payload.subarray(12, 14).toString(), 'xy');
    assert.equal(payload.readUInt16BE(14), 0);
    assert.equal(payload.readUInt32BE(16), 1);
    assert.equal(payload.subarray(20).toString(), 'z');
    assert.deepEqual([...encodeToPython({ type: 'shutdown' })], [0, 0, 0, 1, FRAME.shutdown]);
  });
});
