import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrame, FrameReader } from './frames.js';

describe('Python worker frames', () => {
  it('reads frames split across chunks and several frames in one chunk', () => {
    const messages = [{ type: 'log', message: 'é'.repeat(3) }, { type: 'result', id: 1 }, { n: [1, 2, 3] }];
    const bytes = Buffer.concat(messages.map((message) => encodeFrame(message)));
    for (const size of [1, 3, 7, bytes.length]) {
      const read: unknown[] = [];
      const reader = new FrameReader((message) => read.push(message));
      for (let at = 0; at < bytes.length; at += size) reader.push(bytes.subarray(at, at + size));
      assert.deepEqual(read, messages, `chunks of ${size} bytes`);
    }
  });

  it('prefixes the UTF-8 JSON with its byte length, big-endian', () => {
    const frame = encodeFrame({ a: 'é' });
    assert.equal(frame.readUInt32BE(0), Buffer.byteLength('{"a":"é"}'));
    assert.equal(frame.subarray(4).toString('utf8'), '{"a":"é"}');
  });
});
