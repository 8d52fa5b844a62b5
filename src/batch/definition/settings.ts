/**
 * One set of run settings from the two shapes Azure has used: the older batch deployment keeps them
 * at the top level, today's `modelBatchDeployment` under `settings:`. A file may mix the two (a
 * file half-way through a migration does); a setting given both ways must say the same thing,
 * or the file is refused with both lines named, because picking one silently would run the job
 * with a value its author may not have meant.
 */
import { specError, type SpecIssue, type SpecPath } from '../../core/yaml.js';
import { runSettingKeys, type BatchDeploymentFile, type RunSettings } from './schema.js';

type Locate = (path: SpecPath) => number | undefined;

/** The leaves of a run setting: itself, or each member of a mapping (retry_settings, environment_variables). */
function leaves(key: keyof RunSettings, value: unknown): [SpecPath, unknown][] {
  if (typeof value !== 'object' || value === null) return [[[key], value]];
  return Object.entries(value).map(([member, leaf]) => [[key, member], leaf]);
}

function same(a: unknown, b: unknown): boolean {
  // environment_variables: `THREADS: 2` and `THREADS: "2"` set the same variable.
  return a === b || ((typeof a !== 'object' || a === null) && String(a) === String(b));
}

function at(path: SpecPath): string {
  return path.map(String).join('.');
}

/** The settings as one object; INVALID_SPEC naming every conflict, with its two lines. */
export function mergeRunSettings(file: BatchDeploymentFile, source: string, locate: Locate): RunSettings {
  const nested = file.settings ?? {};
  const merged: Record<string, unknown> = {};
  const conflicts: SpecIssue[] = [];
  for (const key of runSettingKeys) {
    const top = file[key];
    const inner = nested[key];
    if (top === undefined || inner === undefined) {
      merged[key] = top ?? inner;
      continue;
    }
    // The schema types a key the same way in both places: two mappings merge, member by member.
    merged[key] = typeof top === 'object' && typeof inner === 'object' ? { ...top, ...inner } : inner;
    const topLeaves = new Map(leaves(key, top).map(([path, value]) => [at(path), { path, value }]));
    for (const [path, value] of leaves(key, inner)) {
      const other = topLeaves.get(at(path));
      if (other === undefined || same(other.value, value)) continue;
      const otherLine = locate(other.path);
      conflicts.push({
        file: source,
        line: locate(['settings', ...path]),
        path: `settings.${at(path)}`,
        message: `${JSON.stringify(value)} conflicts with ${at(path)}: ${JSON.stringify(other.value)}${otherLine === undefined ? '' : ` (line ${otherLine})`}; give it once, at the top level or under settings`,
      });
    }
  }
  if (conflicts.length > 0) throw specError(conflicts);
  return merged;
}
