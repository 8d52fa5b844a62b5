/**
 * Bare packages: the same entry files as berth's packages, with a handler that returns a constant
 * and loads nothing. Run through the same local host, they measure what the process model and
 * the platform shapes cost on their own.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FunctionKind } from '../../src/targets/function/kinds.js';

const answer = '[[4.75]]';

const sources: Record<FunctionKind, { file: string; text: string }> = {
  fetch: {
    file: 'index.js',
    text: `export const handle = async () => new Response('${answer}', { headers: { 'content-type': 'application/json' } });\n`,
  },
  'aws-lambda': {
    file: 'index.mjs',
    text: `export const handler = async () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '${answer}', isBase64Encoded: false });\n`,
  },
  'azure-functions': {
    file: 'berth/azure-functions.js',
    text: `export const handler = async () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: new TextEncoder().encode('${answer}') });\n`,
  },
};

export async function writeBarePackage(root: string, kind: FunctionKind): Promise<void> {
  const source = sources[kind];
  await mkdir(join(root, 'berth'), { recursive: true });
  await writeFile(join(root, 'package.json'), '{"type":"module"}\n');
  await writeFile(join(root, 'berth', 'package.json'), '{"type":"module"}\n');
  await writeFile(join(root, source.file), source.text);
}
