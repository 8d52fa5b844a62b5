/**
 * Who holds the memory when the process is over its limit. Pure: the memory watch gathers the
 * numbers, this decides.
 *
 * The process's RSS grew by `rss - baselineRss` since the engine became ready. Part of that is
 * known: the main thread's heap and external memory, and each worker's, from the reports workers
 * send while their event loop turns. The rest is unaccounted: native memory (ONNX Runtime's
 * arenas), and above all the memory of a worker that cannot report because one task holds its
 * thread (a synchronous loop filling Buffers never lets the report timer run). So:
 *
 * - a *silent* worker (busy with a call for at least one report interval, and no report since that
 *   call began) owns the unaccounted part; it is blamed when that part is the largest share;
 * - otherwise the worker whose reported heap + external memory grew most is blamed, when its
 *   growth is the largest share and at least `minimumBytes`;
 * - otherwise no worker is to blame: the main thread (request bodies, inline sessions) or native
 *   memory holds it, and only replacing the process helps.
 */

export interface WorkerMemoryView {
  id: number;
  /** Heap + external bytes gained since it became ready (its latest report). */
  growthBytes: number;
  /** Busy with a call long enough to have missed a report, with no report since the call began. */
  silent: boolean;
  /** How long its current run of calls has lasted, ms (0 when idle). */
  busyMs: number;
}

export interface MemoryPicture {
  rssBytes: number;
  /** RSS when the engine became ready. */
  baselineRss: number;
  /** The main thread's heap + external bytes gained since then. */
  mainGrowthBytes: number;
  workers: WorkerMemoryView[];
  /** Growth below this is noise, never blamed. */
  minimumBytes: number;
}

export interface Blame {
  workerId: number;
  /** One sentence: how much the worker holds, or why the unaccounted memory is its. */
  why: string;
}

const MB = 1024 * 1024;

export function megabytes(bytes: number): string {
  return `${Math.round(bytes / MB)} MB`;
}

export function chooseCulprit(picture: MemoryPicture): Blame | undefined {
  const { workers } = picture;
  const main = Math.max(0, picture.mainGrowthBytes);
  const reporting = workers.filter((worker) => !worker.silent);
  const silent = workers.filter((worker) => worker.silent).sort((a, b) => b.busyMs - a.busyMs);
  let reported = 0;
  for (const worker of reporting) reported += Math.max(0, worker.growthBytes);
  const unaccounted = Math.max(0, picture.rssBytes - picture.baselineRss - main - reported);
  const leader = reporting.reduce<WorkerMemoryView | undefined>(
    (best, worker) => (best === undefined || worker.growthBytes > best.growthBytes ? worker : best),
    undefined,
  );
  const leaderBytes = Math.max(0, leader?.growthBytes ?? 0);

  const suspect = silent[0];
  if (suspect !== undefined && unaccounted >= Math.max(leaderBytes, main, picture.minimumBytes)) {
    return {
      workerId: suspect.id,
      why:
        `worker ${suspect.id} has been busy for ${Math.round(suspect.busyMs)} ms without reporting ` +
        `while ${megabytes(unaccounted)} appeared that no other part holds`,
    };
  }
  if (leader !== undefined && leaderBytes >= Math.max(main, unaccounted, picture.minimumBytes)) {
    return {
      workerId: leader.id,
      why: `worker ${leader.id} holds ${megabytes(leaderBytes)} more heap and external memory (Buffers, ArrayBuffers) than when it started`,
    };
  }
  return undefined;
}
