/**
 * A short listing of a model folder, appended to a failed `init` so the person reading the error
 * sees at once whether the file the script looked for is there (the usual cause).
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

const maxEntries = 50;
const maxDepth = 3;

export async function listFolder(root: string): Promise<string> {
  const lines: string[] = [];
  let truncated = false;
  const walk = async (dir: string, depth: number): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      if (lines.length >= maxEntries) {
        truncated = true;
        return;
      }
      const path = join(dir, name);
      const info = await stat(path);
      lines.push(`  ${relative(root, path)}${info.isDirectory() ? '/' : ` (${info.size} bytes)`}`);
      if (info.isDirectory() && depth < maxDepth) await walk(path, depth + 1);
    }
  };
  try {
    await walk(root, 1);
  } catch (error) {
    return `files in ${root}: cannot list (${(error as Error).message})`;
  }
  if (lines.length === 0) return `files in ${root}: (empty)`;
  return [`files in ${root}:`, ...lines, ...(truncated ? [`  … (first ${maxEntries} shown)`] : [])].join(
    '\n',
  );
}
