/**
 * The load helper itself: a load whose requests answer without I/O (a test's "no ready replica"
 * answer) must leave the event loop free for the timers and probes the test waits on, and must
 * stop by itself at its limits instead of filling memory.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { steadyLoad, type Answer } from './http.js';

const instant = (): Promise<Answer> => Promise.resolve({ status: 0, headers: {}, body: 'none', ms: 0 });

describe('steadyLoad', () => {
  it('lets a timer fire while every request answers at once', async () => {
    const load = steadyLoad(instant);
    const fired = await new Promise<number>((resolve) => setTimeout(() => resolve(load.count()), 20));
    const answers = await load.stop();
    assert.ok(fired > 0, 'the load ran before the timer');
    assert.ok(answers.length >= fired);
  });

  it('stops by itself after maxAnswers or maxMs', async () => {
    const byCount = steadyLoad(instant, { clients: 2, maxAnswers: 50 });
    const byTime = steadyLoad(instant, { clients: 1, maxMs: 30 });
    // Both end on their own: a run that never stopped would hold the test until its timeout.
    const counted = (await byCount.finished).length;
    const timed = (await byTime.finished).length;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(counted >= 50 && counted <= 51, `${counted} answers`);
    assert.equal(byCount.count(), counted, 'no answer after the count limit');
    assert.equal(byTime.count(), timed, 'no answer after the time limit');
    assert.equal((await byCount.stop()).length, counted);
    await byTime.stop();
  });
});
