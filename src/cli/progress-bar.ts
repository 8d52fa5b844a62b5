import type { ProgressCallback } from '../core/progress.js';
import type { CliIo } from './output.js';
import { formatBytes } from './output.js';

/** Below this a transfer is over before a bar would be readable. */
const minimumBytes = 4 * 1024 * 1024;

/**
 * A progress bar on stderr for transfers over a few MB, drawn only when stderr is a terminal so
 * scripts and logs stay quiet. Returns undefined when no bar is wanted.
 */
export function createProgressBar(
  io: CliIo,
  label: string,
): (ProgressCallback & { finish(): void }) | undefined {
  if (!io.stderr.isTTY) return undefined;
  let drawn = false;
  let lastDraw = 0;
  const update = (done: number, total: number): void => {
    if (total < minimumBytes) return;
    const now = Date.now();
    if (done < total && now - lastDraw < 100) return;
    lastDraw = now;
    drawn = true;
    const width = Math.max(10, Math.min(40, (io.stderr.columns ?? 80) - label.length - 40));
    const share = total === 0 ? 1 : Math.min(1, done / total);
    const filled = Math.round(share * width);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
    io.stderr.write(
      `\r${label} [${bar}] ${(share * 100).toFixed(0).padStart(3)}% ${formatBytes(done)}/${formatBytes(total)}`,
    );
  };
  return Object.assign(update, {
    finish(): void {
      if (drawn) io.stderr.write('\n');
    },
  });
}
