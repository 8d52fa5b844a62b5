/**
 * Old-generation headroom for a scoring process's V8 heap.
 *
 * A serving main thread allocates short-lived garbage on every request (parsed headers, promises,
 * response objects) at a high rate, so V8 grows its young generation to the maximum while the old
 * generation stays small (a live set of a few MB). V8 starts a full mark-compact whenever the old
 * generation's room below its limit is smaller than the young generation, so that a scavenge can
 * always promote; with a small live set that holds right after every collection, and a serving
 * process ran a full collection every hundred or two requests at concurrency 1 though nothing
 * accumulated: the largest part of its p99 latency. A floor under the old-generation limit (V8's
 * `--initial-old-space-size`) removes those collections; the cost is that up to the floor's size
 * of promoted garbage waits for the next collection.
 *
 * The floor is an eighth of the process's memory limit, 16 to 64 MiB. V8 reads it when the heap is
 * configured, so it is given on the command line of every scoring process berth starts (local and
 * ssh replicas, container images, edge devices, profile trials); `bench/serve/gc-per-request.ts`
 * counts the collections it saves.
 *
 * The young generation gets room too. Each request leaves its garbage and, while it is in flight,
 * a few live objects (its body, promises, the socket's state); a scavenge copies the live ones, so
 * its cost follows how often it runs, that is the allocation rate over the semi-space size. V8's
 * default of 16 MiB had a scavenge every few hundred requests under load, and its copying was the
 * largest cost a tiny model's request paid beyond node:http's own: a semi-space of 64 MiB took a
 * tiny-model v2 JSON request from 55–58 to 45–48 µs of main-thread CPU at 16 and 64 connections,
 * with a lower peak RSS (fewer objects promoted), in `bench/serve/cpu-per-request.ts`. It is a
 * sixteenth of the memory limit, 16 (V8's default) to 64 MiB: from- and to-space can take twice
 * that at worst.
 *
 * The environment below goes with those flags, for the C allocator under the heap. glibc serves an
 * allocation from its arenas below a threshold and maps it on its own above it; by default the
 * threshold rises to the size of any mapped block that is freed. After one large free (a big
 * tensor, a body), every later Buffer up to that size comes from the arenas, and the arenas of a
 * worker thread keep that memory after the thread is gone: a worker replaced for filling its
 * Buffers left its replica at 95% of its memory limit, one worker start from being restarted.
 * A fixed threshold of 1 MiB keeps the arenas for the many small and middle-sized blocks of
 * serving, and gives every block from 1 MiB up back to the system when it is freed.
 */

/** `1 / divisor` of the memory limit in MiB, between 16 and 64 (64 when the limit is not known). */
function shareOfLimitMiB(memoryLimitBytes: number | undefined, divisor: number): number {
  if (memoryLimitBytes === undefined || !Number.isFinite(memoryLimitBytes)) return 64;
  return Math.max(16, Math.min(64, Math.floor(memoryLimitBytes / divisor / 2 ** 20)));
}

/** The old-generation floor in MiB for a process held under `memoryLimitBytes`: an eighth. */
export function oldSpaceFloorMiB(memoryLimitBytes?: number): number {
  return shareOfLimitMiB(memoryLimitBytes, 8);
}

/** The young generation's semi-space in MiB under `memoryLimitBytes`: a sixteenth. */
export function semiSpaceMiB(memoryLimitBytes?: number): number {
  return shareOfLimitMiB(memoryLimitBytes, 16);
}

/** Node options for a scoring process, placed before its entry script. */
export function scoringProcessFlags(memoryLimitBytes?: number): string[] {
  return [
    `--initial-old-space-size=${oldSpaceFloorMiB(memoryLimitBytes)}`,
    `--max-semi-space-size=${semiSpaceMiB(memoryLimitBytes)}`,
  ];
}

/** Environment for a scoring process (see above); a deployment's own variables come after it. */
export const scoringProcessEnv: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_MMAP_THRESHOLD_: String(2 ** 20),
});
