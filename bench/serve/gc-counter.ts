/**
 * Preloaded into a benchmark server (`node --import …/gc-counter.js server.js`): counts the main
 * thread's garbage collections by kind and their pause time. SIGUSR1 starts a fresh count; SIGUSR2
 * writes the count since then to stderr as one JSON line prefixed `gc-count `.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';

interface Count {
  major: number;
  minor: number;
  incremental: number;
  pauseMs: number;
  longestMs: number;
}

const fresh = (): Count => ({ major: 0, minor: 0, incremental: 0, pauseMs: 0, longestMs: 0 });
let count = fresh();

new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry.toJSON() as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) count.major += 1;
    else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) count.minor += 1;
    else if (kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) count.incremental += 1;
    count.pauseMs += entry.duration;
    count.longestMs = Math.max(count.longestMs, entry.duration);
  }
}).observe({ entryTypes: ['gc'] });

process.on('SIGUSR1', () => {
  count = fresh();
});
process.on('SIGUSR2', () => {
  process.stderr.write(`gc-count ${JSON.stringify(count)}\n`);
});
