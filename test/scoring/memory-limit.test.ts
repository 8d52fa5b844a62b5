/** The memory limit's parts: where it comes from, who is blamed past it, and what /metrics shows. */
import assert from 'node:assert/strict';
import { totalmem } from 'node:os';
import { describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import { chooseCulprit, type MemoryPicture } from '../../src/scoring/engine/memory-blame.js';
import {
  defaultMemoryLimit,
  describeMemoryLimit,
  memoryLimitFromEnv,
  MEMORY_LIMIT_ENV,
} from '../../src/scoring/memory-limit.js';
import { ScoringMetrics } from '../../src/scoring/metrics.js';
import { resolveScoringOptions } from '../../src/scoring/options.js';

const MB = 1024 * 1024;

describe('memory limit: where it comes from', () => {
  it('defaults to half of the machine, or 90% of a container limit, and says which', () => {
    const fallback = defaultMemoryLimit();
    const cgroup = process.constrainedMemory?.() ?? 0;
    if (cgroup > 0 && cgroup < totalmem()) {
      assert.equal(fallback.bytes, Math.floor(cgroup * 0.9));
      assert.match(fallback.reason, /90% of the .* this container may use/);
    } else {
      assert.equal(fallback.bytes, Math.floor(totalmem() / 2));
      assert.match(fallback.reason, /half of this machine's \d+\.\d GiB/);
    }
    const resolved = resolveScoringOptions({}, false, {});
    assert.equal(resolved.engine.memoryLimitBytes, fallback.bytes);
    assert.match(describeMemoryLimit(fallback.bytes, {}), /^memory limit \d+\.\d GiB \(default: /);
  });

  it('takes BERTH_MEMORY_LIMIT_BYTES in bytes or with a unit, and the option before it', () => {
    const env = { [MEMORY_LIMIT_ENV]: '512Mi' };
    assert.equal(memoryLimitFromEnv(env), 512 * MB);
    assert.equal(memoryLimitFromEnv({ [MEMORY_LIMIT_ENV]: '300000000' }), 300_000_000);
    assert.equal(memoryLimitFromEnv({}), undefined);
    assert.equal(resolveScoringOptions({}, false, env).engine.memoryLimitBytes, 512 * MB);
    assert.equal(
      resolveScoringOptions({ memoryLimitBytes: 256 * MB }, false, env).engine.memoryLimitBytes,
      256 * MB,
    );
    assert.equal(describeMemoryLimit(512 * MB, env), `memory limit 512.0 MiB (from ${MEMORY_LIMIT_ENV})`);
    assert.equal(describeMemoryLimit(256 * MB, env), 'memory limit 256.0 MiB (set by memoryLimitBytes)');
  });

  it('refuses a bad variable, and a limit under 64 MiB, naming where it came from', () => {
    assert.throws(
      () => memoryLimitFromEnv({ [MEMORY_LIMIT_ENV]: 'lots' }),
      (error: Error) =>
        hasErrorCode(error, 'INVALID_SPEC') && /BERTH_MEMORY_LIMIT_BYTES must be a size/.test(error.message),
    );
    assert.throws(() => resolveScoringOptions({ memoryLimitBytes: 1024 }), /memoryLimitBytes/);
    assert.throws(
      () => resolveScoringOptions({}, false, { [MEMORY_LIMIT_ENV]: '1Mi' }),
      /must be at least 67108864 bytes \(64 MiB\), got 1048576/,
    );
  });

  it('survives the round trip through a resolved options file', () => {
    const resolved = resolveScoringOptions({ memoryLimitBytes: 400 * MB, workerStartTimeoutMs: 9_000 });
    const again = resolveScoringOptions(JSON.parse(JSON.stringify(resolved)), false, {});
    assert.equal(again.engine.memoryLimitBytes, 400 * MB);
    assert.equal(again.engine.workerStartTimeoutMs, 9_000);
  });
});

describe('memory limit: who holds the excess', () => {
  const picture = (over: Partial<MemoryPicture>): MemoryPicture => ({
    rssBytes: 400 * MB,
    baselineRss: 100 * MB,
    mainGrowthBytes: 0,
    workers: [],
    minimumBytes: 8 * MB,
    ...over,
  });

  it('blames a silent busy worker for memory nothing else accounts for', () => {
    const blame = chooseCulprit(
      picture({
        workers: [
          { id: 1, growthBytes: 5 * MB, silent: false, busyMs: 0 },
          { id: 2, growthBytes: 0, silent: true, busyMs: 300 },
          { id: 3, growthBytes: 0, silent: true, busyMs: 900 },
        ],
      }),
    );
    assert.equal(blame?.workerId, 3);
    assert.match(
      blame?.why ?? '',
      /worker 3 has been busy for 900 ms without reporting while 295 MB appeared/,
    );
  });

  it('blames the worker whose reported heap and Buffers grew most', () => {
    const blame = chooseCulprit(
      picture({
        workers: [
          { id: 1, growthBytes: 280 * MB, silent: false, busyMs: 10 },
          { id: 2, growthBytes: 10 * MB, silent: false, busyMs: 0 },
          { id: 3, growthBytes: 0, silent: true, busyMs: 200 },
        ],
      }),
    );
    assert.equal(blame?.workerId, 1);
    assert.match(blame?.why ?? '', /worker 1 holds 280 MB more heap and external memory/);
  });

  it('blames no worker when the main thread holds the excess, or when it is noise', () => {
    const mainHolds = picture({
      mainGrowthBytes: 290 * MB,
      workers: [{ id: 1, growthBytes: 4 * MB, silent: true, busyMs: 500 }],
    });
    assert.equal(chooseCulprit(mainHolds), undefined);
    const noise = picture({
      rssBytes: 105 * MB,
      workers: [{ id: 1, growthBytes: 4 * MB, silent: false, busyMs: 0 }],
    });
    assert.equal(chooseCulprit(noise), undefined);
    // Unaccounted memory with no silent worker: native memory no report covers; not a worker's.
    assert.equal(
      chooseCulprit(picture({ workers: [{ id: 1, growthBytes: 0, silent: false, busyMs: 0 }] })),
      undefined,
    );
  });
});

describe('metrics: replacements by cause and memory', () => {
  it('renders the engine health as counters and gauges, and nothing without one', () => {
    const metrics = new ScoringMetrics({
      queueDepth: () => 0,
      inFlight: () => 0,
      workerRestarts: () => 3,
      health: () => ({
        live: false,
        reason: 'x',
        workers: { configured: 2, alive: 1 },
        replaced: { timeout: 1, crash: 0, memory: 2, exit: 0 },
        lastFailure: null,
        memory: { limitBytes: 300 * MB, rssBytes: 120 * MB },
      }),
    });
    const text = metrics.render();
    assert.match(text, /# TYPE berth_worker_replacements_total counter/);
    assert.match(text, /berth_worker_replacements_total\{cause="timeout"\} 1\n/);
    assert.match(text, /berth_worker_replacements_total\{cause="memory"\} 2\n/);
    assert.match(text, /berth_workers_alive 1\n/);
    assert.match(text, /berth_live 0\n/);
    assert.match(text, /berth_memory_limit_bytes 314572800\n/);
    assert.match(text, /berth_memory_rss_bytes 125829120\n/);
    const bare = new ScoringMetrics({
      queueDepth: () => 0,
      inFlight: () => 0,
      workerRestarts: () => undefined,
    });
    assert.doesNotMatch(bare.render(), /replacements|berth_live|memory_/);
  });
});
