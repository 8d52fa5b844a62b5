/**
 * The hostile-input suite: every probe of test/hostile/probes.ts against every front end it names,
 * and after each, that front end's correct request still gets the correct answer.
 */
import { after, before, describe, it } from 'node:test';
import { startFrontEnds, stillCorrect, type FrontEnd, type FrontEnds } from './front-ends.js';
import { probes } from './probes.js';

describe('hostile input', () => {
  let fronts: FrontEnds;
  before(async () => (fronts = await startFrontEnds()));
  after(() => fronts.close());

  for (const probe of probes) {
    for (const [frontEnd, send] of Object.entries(probe.on) as [
      FrontEnd,
      (f: FrontEnds) => Promise<void>,
    ][]) {
      it(`${frontEnd}: ${probe.name}`, async () => {
        await send(fronts);
        await stillCorrect[frontEnd](fronts);
      });
    }
  }
});
