/**
 * A run's log: the command's stdout and stderr (rank 0, or another rank), read whole or followed
 * until the run ends. Following polls the file: the writer is another process.
 */
import { open, stat } from 'node:fs/promises';
import { currentStatus, isTerminal } from './control.js';
import type { RunFolder } from './run-folder.js';

async function readFrom(path: string, offset: number): Promise<{ text: string; next: number }> {
  const size = await stat(path).then(
    (info) => info.size,
    () => 0,
  );
  if (size <= offset) return { text: '', next: offset };
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(size - offset);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    return { text: buffer.subarray(0, bytesRead).toString('utf8'), next: offset + bytesRead };
  } finally {
    await handle.close();
  }
}

/** The log so far, in chunks; with `follow`, chunks until the run has ended and its log is drained. */
export async function* readRunLog(
  folder: RunFolder,
  options: { rank?: number; follow?: boolean; signal?: AbortSignal } = {},
): AsyncGenerator<string> {
  const path = folder.logFile(options.rank ?? 0);
  let offset = 0;
  for (;;) {
    // Read the status first: a run seen ended has written all of its log before this read.
    const ended =
      !options.follow || options.signal?.aborted === true || isTerminal(await currentStatus(folder));
    const chunk = await readFrom(path, offset);
    offset = chunk.next;
    if (chunk.text !== '') yield chunk.text;
    if (ended) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
