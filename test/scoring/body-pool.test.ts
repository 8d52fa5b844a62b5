/**
 * Binary request bodies reuse memory from a pool once the engine has answered. The pool's own
 * rules, and over real HTTP: many concurrent binary requests, each with its own data, interleaved
 * with refused ones, each get the answer to their own data, round after round.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BodyBufferPool, sizeClass } from '../../src/scoring/http/body-pool.js';
import { call, linear, linearModel, startTestServer, tempDir, type TestServer } from './http-harness.js';

describe('body buffer pool', () => {
  it('rounds sizes up to an eighth of a power of two', () => {
    assert.equal(sizeClass(1), 4096);
    assert.equal(sizeClass(4096), 4096);
    assert.equal(sizeClass(4097), 4608);
    assert.equal(sizeClass(73_728), 73_728);
    assert.equal(sizeClass(73_729), 81_920);
    for (let bytes = 4097; bytes < 3_000_000; bytes += 7919) {
      const size = sizeClass(bytes);
      assert.ok(size >= bytes && size <= bytes * 1.125 + 1, `${bytes} -> ${size}`);
      assert.equal(sizeClass(size), size);
    }
  });

  it('hands a released buffer out again, and keeps no detached, odd-sized or excess buffer', () => {
    const pool = new BodyBufferPool(200_000);
    const first = pool.acquire(70_000);
    assert.equal(first.byteLength, sizeClass(70_000));
    pool.release(first);
    assert.equal(pool.heldBytes, first.byteLength);
    assert.equal(pool.acquire(69_000), first, 'same size class: reused');
    assert.equal(pool.heldBytes, 0);

    const moved = pool.acquire(70_000);
    structuredClone(moved, { transfer: [moved] });
    pool.release(moved);
    assert.equal(pool.heldBytes, 0, 'a transferred buffer is not kept');

    pool.release(new ArrayBuffer(70_001));
    assert.equal(pool.heldBytes, 0, 'a buffer of no size class is not kept');

    pool.release(Buffer.allocUnsafe(100).buffer);
    pool.release(new ArrayBuffer(sizeClass(70_000)));
    assert.equal(
      pool.heldBytes,
      0,
      "a buffer the pool did not lend (node's shared pool, any other) is not kept",
    );

    const twice = pool.acquire(70_000);
    pool.release(twice);
    pool.release(twice);
    assert.equal(pool.heldBytes, twice.byteLength, 'a buffer given back twice is kept once');
    assert.equal(pool.acquire(70_000), twice);
    assert.notEqual(pool.acquire(70_000), twice, 'and handed out once');
    assert.equal(pool.heldBytes, 0);

    pool.release(pool.acquire(100_000));
    pool.release(pool.acquire(100_000));
    pool.release(pool.acquire(100_000));
    assert.ok(pool.heldBytes <= 200_000, 'the pool keeps no more than its limit');
  });
});

describe('scoring HTTP front end: binary bodies from the pool', () => {
  const dir = tempDir('body-pool');
  let server: TestServer;

  before(async () => {
    server = await startTestServer({
      models: [linearModel(dir.path)],
      batching: { enabled: true, maxBatchSize: 4096, maxQueueDelayMs: 1 },
    });
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  const rows = 500;
  function request(seed: number, corrupt: boolean): { body: Uint8Array; headerLength: number } {
    const x = new Float32Array(rows * 3);
    for (let i = 0; i < x.length; i++) x[i] = ((seed * 31 + i * 7) % 97) - 48;
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          {
            name: 'x',
            shape: [rows, 3],
            datatype: 'FP32',
            parameters: { binary_data_size: corrupt ? x.byteLength - 4 : x.byteLength },
          },
        ],
      }),
    );
    return { body: Buffer.concat([header, Buffer.from(x.buffer)]), headerLength: header.length };
  }

  it('answers every request with its own data, round after round', async () => {
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(
        Array.from({ length: 60 }, async (_, index) => {
          const seed = round * 1000 + index;
          const corrupt = index % 7 === 3;
          const { body, headerLength } = request(seed, corrupt);
          const answer = await call(`${server.url}/v2/models/linear/infer`, {
            body,
            headers: {
              'content-type': 'application/octet-stream',
              'inference-header-content-length': String(headerLength),
            },
          });
          return { seed, corrupt, answer };
        }),
      );
      for (const { seed, corrupt, answer } of answers) {
        if (corrupt) {
          assert.equal(answer.status, 400, answer.text);
          continue;
        }
        assert.equal(answer.status, 200, answer.text);
        const y = (answer.json() as { outputs: { data: number[] }[] }).outputs[0]!.data;
        assert.equal(y.length, rows);
        for (const row of [0, 1, 250, rows - 1]) {
          const x = [0, 1, 2].map((k) => ((seed * 31 + (row * 3 + k) * 7) % 97) - 48);
          assert.equal(y[row], linear(x), `seed ${seed} row ${row}`);
        }
      }
    }
  });
});
