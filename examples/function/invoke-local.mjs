// Calls a function package the way its platform would, in this process, with one request file:
//
//   node examples/function/invoke-local.mjs ./fn examples/endpoints/ocr/request.json
//   node examples/function/invoke-local.mjs ./fn-unzipped examples/endpoints/ocr/request.json --lambda
//
// A fetch package (`berth package … --function fetch`) gets a Request; with --lambda, an unzipped
// Lambda package gets an API Gateway HTTP API (payload 2.0) event. Prints the status and the body.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [packageDir, requestFile] = process.argv.slice(2);
if (packageDir === undefined || requestFile === undefined) {
  process.stderr.write('usage: invoke-local.mjs <package folder> <request.json> [--lambda]\n');
  process.exit(2);
}
const body = await readFile(requestFile, 'utf8');
const root = resolve(packageDir);

if (process.argv.includes('--lambda')) {
  const { handler } = await import(pathToFileURL(join(root, 'index.mjs')).href);
  const result = await handler({
    version: '2.0',
    routeKey: '$default',
    rawPath: '/score',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: { http: { method: 'POST', path: '/score' }, stage: '$default' },
    body,
    isBase64Encoded: false,
  });
  process.stdout.write(`${result.statusCode}\n${result.body}\n`);
} else {
  const { default: fn } = await import(pathToFileURL(join(root, 'index.js')).href);
  const response = await fn.fetch(
    new globalThis.Request('http://localhost/score', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    }),
  );
  process.stdout.write(`${response.status}\n${await response.text()}\n`);
}
// The package's scoring server keeps running, as a warm instance would: end here.
process.exit(0);
