/**
 * What a device refuses to score from MQTT before it reaches the scoring server, no broker needed:
 * a retained request, one over the size limit, an empty one, one that is not JSON, and JSON that
 * is no request; each with its status and a message naming the topic and the problem.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refusal } from '../../src/edge/bridge.js';

const topic = 'berth/press-12/in/line-1';

function refused(
  payload: string,
  retained = false,
  maxBytes = 1024,
): { status: number; code: string; message: string } {
  const answer = refusal(topic, Buffer.from(payload), retained, maxBytes);
  assert.ok(answer, `${JSON.stringify(payload)} is refused`);
  return {
    status: answer.status,
    ...(JSON.parse(answer.body.toString()) as { code: string; message: string }),
  };
}

describe('MQTT scoring messages refused on the device', () => {
  it('passes a JSON object or array on to the scoring server', () => {
    assert.equal(refusal(topic, Buffer.from('{"data": [[1, 2, 3]]}'), false, 1024), undefined);
    assert.equal(refusal(topic, Buffer.from('[[1, 2, 3]]'), false, 1024), undefined);
  });

  it('refuses each hostile form with its status, code and the topic in the message', () => {
    assert.deepEqual(refused('{"data": [[1]]}', true), {
      status: 400,
      code: 'BAD_INPUT',
      message: `the retained message on ${topic} is not scored: a scoring request must not be retained (it would be scored again at every reconnect)`,
    });
    const big = refused(JSON.stringify({ data: 'x'.repeat(2000) }));
    assert.equal(big.status, 413);
    assert.equal(big.code, 'PAYLOAD_TOO_LARGE');
    assert.match(
      big.message,
      /is 2011 bytes, larger than the limit of 1024 bytes \(berth edge agent --max-message-bytes\)/,
    );
    assert.deepEqual(refused(''), {
      status: 400,
      code: 'BAD_INPUT',
      message: `the message on ${topic} is empty: expected a JSON request`,
    });
    assert.match(refused('temperature=21').message, new RegExp(`^the message on ${topic} is not JSON: `));
    assert.match(refused('"text"').message, /is JSON string, not a request/);
    assert.match(refused('null').message, /is JSON null, not a request/);
  });
});
