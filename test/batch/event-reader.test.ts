/**
 * The submitter's event-stream reader against the real Redis: it starts after the entries already
 * there, hands over in one call what arrived while it gathered, and after a dropped connection goes
 * on from the last entry it saw, so entries added during the drop still arrive.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeRedis, connectNow, createRedis } from '../../src/batch/cluster/connection.js';
import { EventStreamReader, type QueueEvent } from '../../src/batch/cluster/event-reader.js';
import { waitFor } from '../targets/helpers.js';
import { dropConnections, endpoint, removePrefix, uniquePrefix, withRedis } from './cluster-helpers.js';

describe('EventStreamReader', () => {
  const prefixes: string[] = [];
  after(async () => {
    for (const prefix of prefixes) await removePrefix(prefix);
  });

  async function withReader(
    gatherMs: number,
    body: (add: (jobId: string) => Promise<void>, batches: QueueEvent[][], prefix: string) => Promise<void>,
    before?: (add: (jobId: string) => Promise<void>) => Promise<void>,
  ): Promise<void> {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const key = `${prefix}:batch:events`;
    const add = (jobId: string): Promise<void> =>
      withRedis(async (redis) => void (await redis.xadd(key, '*', 'event', 'completed', 'jobId', jobId)));
    await before?.(add);
    const client = createRedis(endpoint, `${prefix}:reader`, 'blocking');
    await connectNow(client);
    const batches: QueueEvent[][] = [];
    const reader = new EventStreamReader(client, key, (events) => batches.push(events), {
      gatherMs: () => gatherMs,
      blockMs: 1000,
      retryMs: 50,
    });
    try {
      await reader.start();
      await body(add, batches, prefix);
    } finally {
      await reader.close();
      await closeRedis(client);
    }
  }

  it('starts after what the stream held and hands over what came while it gathered in one call', async () => {
    await withReader(
      300,
      async (add, batches) => {
        await add('first');
        await waitFor(() => batches.length === 1, 5000, 'the first event');
        // The reader now gathers for 300 ms: these two arrive together.
        await add('second');
        await add('third');
        await waitFor(() => batches.length === 2, 5000, 'the gathered events');
        assert.deepEqual(
          batches.map((batch) => batch.map((event) => event.fields.jobId)),
          [['first'], ['second', 'third']],
        );
        assert.equal(batches[0]?.[0]?.event, 'completed');
      },
      (add) => add('before-start'),
    );
  });

  it('goes on from the last entry it saw after its connection is dropped', async () => {
    await withReader(10, async (add, batches, prefix) => {
      await add('a');
      await waitFor(() => batches.length === 1, 5000, 'the first event');
      assert.equal(await dropConnections(prefix), 1);
      await add('during-drop');
      await waitFor(() => batches.flat().length === 2, 5000, 'the event added during the drop');
      assert.deepEqual(
        batches.flat().map((event) => event.fields.jobId),
        ['a', 'during-drop'],
      );
    });
  });
});
