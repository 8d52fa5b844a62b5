/**
 * YAML spec files (endpoints, deployments, batch jobs) parsed with line numbers kept: every wrong
 * field is reported at once as `file:line: path: message`, and unknown fields become warnings
 * instead of being dropped silently. Schemas must be strict objects (`z.strictObject`): their
 * `unrecognized_keys` issues are what this module turns into warnings.
 *
 * Hostile files get the same treatment as wrong ones: a spec over `maxSpecBytes` is refused before
 * it is parsed; the work grows linearly with the file (the YAML library's own duplicate-key check
 * scans every earlier key of a mapping for each key, so it is off and done here with a set, and a
 * field's line is found through an index of each mapping's keys); and an alias bomb is the user's
 * INVALID_SPEC, at the line of its first alias.
 */
import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
  type YAMLMap,
} from 'yaml';
import type { z } from 'zod';
import { BerthError } from './errors.js';

export type SpecPath = readonly (string | number)[];

/** One finding about one field of a spec file. */
export interface SpecIssue {
  file: string;
  /** 1-based; undefined when the field is not in the file (e.g. a required field left out). */
  line: number | undefined;
  /** Dotted path, e.g. `request_settings.request_timeout_ms`; empty for the whole file. */
  path: string;
  message: string;
}

export interface ParsedYaml<T> {
  value: T;
  warnings: SpecIssue[];
  /** The line of a field (or of the nearest enclosing field that exists), for later warnings. */
  lineOf: (path: SpecPath) => number | undefined;
}

export function formatSpecPath(path: SpecPath): string {
  return path.reduce<string>((text, part) => {
    if (typeof part === 'number') return `${text}[${part}]`;
    return text === '' ? part : `${text}.${part}`;
  }, '');
}

/** `file:line: path: message`, the one line format errors and warnings share. */
export function formatSpecIssue(issue: SpecIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  return issue.path === '' ? `${where}: ${issue.message}` : `${where}: ${issue.path}: ${issue.message}`;
}

/** An INVALID_SPEC error listing every issue, one per line; the first line names the count. */
export function specError(issues: readonly SpecIssue[]): BerthError {
  const lines = issues.map(formatSpecIssue);
  if (lines.length === 1) return new BerthError('INVALID_SPEC', lines[0] ?? '');
  return new BerthError('INVALID_SPEC', [`${lines.length} problems in the spec:`, ...lines].join('\n'));
}

function show(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'string')
    return JSON.stringify(input.length > 60 ? `${input.slice(0, 57)}...` : input);
  return typeof input === 'number' || typeof input === 'boolean' ? String(input) : typeof input;
}

const articles: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  record: 'a mapping',
};

/** Zod's own messages start with a capital ("Invalid input: …"); the schemas' start with "expected". */
function isCustom(message: string): boolean {
  return /^[a-z]/.test(message);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  if (issue.code === 'invalid_type' && input === undefined) return 'is required';
  const got = `, got ${show(input)}`;
  if (isCustom(issue.message))
    return issue.message.startsWith('expected') ? `${issue.message}${got}` : issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${articles[issue.expected] ?? issue.expected}${got}`;
    case 'invalid_value':
      return `expected ${issue.values.map((value) => show(value)).join(' or ')}${got}`;
    case 'too_big':
      return `expected at most ${String(issue.maximum)}${issue.origin === 'string' ? ' characters' : ''}${got}`;
    case 'too_small':
      return `expected at least ${String(issue.minimum)}${issue.origin === 'string' ? ' characters' : ''}${got}`;
    case 'invalid_format':
      return `expected ${issue.format === 'regex' ? 'a value matching the pattern' : issue.format}${got}`;
    default:
      return issue.message;
  }
}

/** Largest spec text parsed: specs are a few kilobytes; one over this is refused unread. */
export const maxSpecBytes = 1024 * 1024;

/** Throws INVALID_SPEC naming the size and the limit when a spec of `bytes` bytes is too large. */
export function checkSpecSize(bytes: number, fileName: string): void {
  if (bytes > maxSpecBytes) {
    throw new BerthError(
      'INVALID_SPEC',
      `${fileName}: the spec is ${bytes} bytes, over the limit of ${maxSpecBytes} bytes for a spec file`,
    );
  }
}

interface KeyEntry {
  key: Node;
  value: unknown;
}

/** Each mapping's keys, indexed once, so that finding a field's line costs no scan of its mapping. */
class KeyIndex {
  private readonly maps = new WeakMap<YAMLMap, Map<string, KeyEntry>>();

  entries(map: YAMLMap): Map<string, KeyEntry> {
    let index = this.maps.get(map);
    if (index === undefined) {
      index = new Map();
      for (const pair of map.items) {
        if (isScalar(pair.key) && !index.has(String(pair.key.value)))
          index.set(String(pair.key.value), { key: pair.key, value: pair.value });
      }
      this.maps.set(map, index);
    }
    return index;
  }

  child(node: unknown, part: string | number): unknown {
    if (isMap(node)) return this.entries(node).get(String(part))?.value;
    if (isSeq(node) && typeof part === 'number') return node.items[part];
    return undefined;
  }

  nodeAt(doc: Document, path: SpecPath): Node | undefined {
    const nodes: unknown[] = [doc.contents];
    for (const part of path) nodes.push(this.child(nodes[nodes.length - 1], part));
    for (let at = nodes.length - 1; at >= 0; at -= 1) {
      const node = nodes[at];
      if (node !== undefined && node !== null && typeof node === 'object' && 'range' in node)
        return node as Node;
    }
    return undefined;
  }

  /** The key node of `key` in the mapping at `path`, for an unknown field's line. */
  keyNode(doc: Document, path: SpecPath, key: string): Node | undefined {
    let node: unknown = doc.contents;
    for (const part of path) node = this.child(node, part);
    return isMap(node) ? this.entries(node).get(key)?.key : undefined;
  }
}

/** Every key used twice in one mapping, found with one set per mapping. */
function duplicateKeys(doc: Document): Node[] {
  const found: Node[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (seen.has(key)) found.push(pair.key);
        seen.add(key);
      }
    },
  });
  return found;
}

/** The first alias of the document, where an alias bomb is reported. */
function firstAlias(doc: Document): Node | undefined {
  let alias: Node | undefined;
  visit(doc, {
    Alias(_, node) {
      alias = node;
      return visit.BREAK;
    },
  });
  return alias;
}

function deleteAt(value: unknown, path: SpecPath, key: string): void {
  let target: unknown = value;
  for (const part of path) target = (target as Record<string | number, unknown> | undefined)?.[part];
  if (typeof target === 'object' && target !== null) delete (target as Record<string, unknown>)[key];
}

const maxUnknownPasses = 8;

/** Plain data copied, so that dropping unknown fields never edits an object the caller passed. */
function copyData(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyData);
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype)
    return value;
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, copyData(child)]));
}

/** Zod reports a nested object's issues before its parent's; a reader wants the file's order. */
function inFileOrder(issues: SpecIssue[]): SpecIssue[] {
  return issues.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
}

/** The warning message of an unknown field, for callers that word such warnings their own way. */
export const unknownFieldMessage = 'unknown field, ignored';

/**
 * Validates an already-parsed spec (from YAML, or an object handed to the SDK) with `schema`, the
 * way `parseYamlFile` does: unknown fields become warnings, every other issue an INVALID_SPEC error
 * line. `lineOf` gives a field's line; without a file, leave it out and issues carry no line.
 */
export function validateSpec<S extends z.ZodType>(
  input: unknown,
  fileName: string,
  schema: S,
  lineOf: (path: SpecPath) => number | undefined = () => undefined,
): { value: z.output<S>; warnings: SpecIssue[] } {
  const raw = input === null || input === undefined ? {} : copyData(input);
  const warnings: SpecIssue[] = [];
  for (let pass = 0; pass < maxUnknownPasses; pass += 1) {
    const result = schema.safeParse(raw, { reportInput: true });
    if (result.success) return { value: result.data, warnings: inFileOrder(warnings) };
    const errors: SpecIssue[] = [];
    let removed = 0;
    for (const issue of result.error.issues) {
      const path = issue.path as SpecPath;
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          warnings.push({
            file: fileName,
            line: lineOf([...path, key]),
            path: formatSpecPath([...path, key]),
            message: unknownFieldMessage,
          });
          deleteAt(raw, path, key);
          removed += 1;
        }
        continue;
      }
      errors.push({
        file: fileName,
        line: lineOf(path),
        path: formatSpecPath(path),
        message: describeIssue(issue),
      });
    }
    if (errors.length > 0) throw specError(errors);
    if (removed === 0) break;
  }
  throw new BerthError('INVALID_SPEC', `${fileName}: the spec could not be validated`);
}

/**
 * Parses a YAML spec and validates it with `schema`. Resolves the value and its warnings (YAML
 * warnings, unknown fields); throws INVALID_SPEC listing every YAML or schema error with its line.
 */
export function parseYamlFile<S extends z.ZodType>(
  text: string,
  fileName: string,
  schema: S,
): ParsedYaml<z.output<S>> {
  checkSpecSize(Buffer.byteLength(text), fileName);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const lineOfNode = (node: Node | undefined): number | undefined =>
    node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  const index = new KeyIndex();
  // A field's line is its key's (a mapping value may start on the next line); a field that is
  // absent gets the line of the nearest enclosing one.
  const lineOf = (path: SpecPath): number | undefined => {
    const last = path[path.length - 1];
    const key = typeof last === 'string' ? index.keyNode(doc, path.slice(0, -1), last) : undefined;
    return lineOfNode(key ?? index.nodeAt(doc, path));
  };

  const errors: SpecIssue[] = doc.errors.map((error) => ({
    file: fileName,
    line: lineCounter.linePos(error.pos[0]).line,
    path: '',
    message: `invalid YAML: ${error.message.split('\n')[0] ?? error.code}`,
  }));
  if (errors.length === 0) {
    for (const key of duplicateKeys(doc)) {
      const name = isScalar(key) ? String(key.value) : '?';
      errors.push({
        file: fileName,
        line: lineOfNode(key),
        path: '',
        message: `invalid YAML: the key "${name}" appears twice in one mapping`,
      });
    }
  }
  if (errors.length > 0) throw specError(errors);
  const yamlWarnings: SpecIssue[] = doc.warnings.map((warning) => ({
    file: fileName,
    line: lineCounter.linePos(warning.pos[0]).line,
    path: '',
    message: warning.message.split('\n')[0] ?? warning.code,
  }));
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // The library's refusal of an alias bomb ("Excessive alias count…") is the file's fault.
    const reason = error instanceof Error ? error.message : String(error);
    throw specError([
      { file: fileName, line: lineOfNode(firstAlias(doc)), path: '', message: `invalid YAML: ${reason}` },
    ]);
  }
  const { value, warnings } = validateSpec(data, fileName, schema, lineOf);
  return { value, warnings: [...yamlWarnings, ...warnings], lineOf };
}
