/**
 * .gitignore / .amlignore patterns, the subset that code folders use: comments, `!` negation,
 * a trailing `/` for folders only, a leading or inner `/` to anchor at the file's folder, `*`,
 * `?`, `**` and `[…]`. The last matching pattern wins, as in git. Where a folder has both files,
 * .amlignore is read and .gitignore is not (Azure ML's rule).
 */

interface Rule {
  /** The folder holding the ignore file, POSIX, relative to the code root ('' for the root). */
  base: string;
  negate: boolean;
  folderOnly: boolean;
  regex: RegExp;
}

function globToRegex(glob: string, anchored: boolean): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i] ?? '';
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches any number of folders, a trailing `**` everything below.
        if (glob[i + 2] === '/') {
          out += '(?:.*/)?';
          i += 2;
        } else {
          out += '.*';
          i += 1;
        }
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) out += '\\[';
      else {
        out += `[${glob
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < glob.length) {
      out += `\\${glob[i + 1] ?? ''}`;
      i += 1;
    } else out += /[.+^${}()|\]\\]/.test(c) ? `\\${c}` : c;
  }
  return new RegExp(`^${anchored ? '' : '(?:.*/)?'}${out}$`);
}

/** The rules of one ignore file found in folder `base`. */
export function parseIgnoreFile(text: string, base: string): Rule[] {
  const rules: Rule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.replace(/(?<!\\)\s+$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1);
    const folderOnly = line.endsWith('/');
    if (folderOnly) line = line.slice(0, -1);
    const anchored = line.includes('/');
    if (line.startsWith('/')) line = line.slice(1);
    if (line === '') continue;
    rules.push({ base, negate, folderOnly, regex: globToRegex(line, anchored) });
  }
  return rules;
}

/** Whether `path` (POSIX, relative to the root) is ignored by `rules`, in file order. */
export function isIgnored(rules: readonly Rule[], path: string, isFolder: boolean): boolean {
  let ignored = false;
  for (const rule of rules) {
    if (rule.folderOnly && !isFolder) continue;
    let relative = path;
    if (rule.base !== '') {
      if (!path.startsWith(`${rule.base}/`)) continue;
      relative = path.slice(rule.base.length + 1);
    }
    if (rule.regex.test(relative)) ignored = !rule.negate;
  }
  return ignored;
}

export type { Rule as IgnoreRule };
