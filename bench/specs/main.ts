/**
 * Spec parsing time against file size: deployment YAML files of 0.25, 0.5 and 1 MB (the largest
 * spec berth reads) in three shapes (a mapping of environment variables, unknown top-level fields,
 * a long list), each parsed the way `berth endpoint deployment create -f` parses it. Time per MB
 * should stay flat as the size doubles: parsing is linear.
 *
 *   npm run bench:specs [-- --runs 3]
 */
import { readDeploymentYaml } from '../../src/core/specs/index.js';
import { maxSpecBytes } from '../../src/core/yaml.js';

type Shape = 'environment' | 'unknown' | 'list';

function specText(bytes: number, shape: Shape): string {
  const lines = ['name: blue', 'endpoint_name: ocr', 'model: azureml:m:1', 'instance_count: 1'];
  let size = lines.join('\n').length;
  const add = (line: string): void => {
    lines.push(line);
    size += line.length + 1;
  };
  if (shape === 'environment') add('environment_variables:');
  if (shape === 'list') add('unused_list:');
  for (let i = 0; size < bytes - 64; i += 1) {
    if (shape === 'environment') add(`  VAR_${i}: "value-${i}"`);
    else if (shape === 'unknown') add(`field_${i}: ${i}`);
    else add(`  - item-${i}`);
  }
  return `${lines.join('\n')}\n`;
}

const runsAt = process.argv.indexOf('--runs');
const runs = runsAt === -1 ? 3 : Number(process.argv[runsAt + 1]);
const sizes = [maxSpecBytes / 4, maxSpecBytes / 2, maxSpecBytes];
for (const shape of ['environment', 'unknown', 'list'] as const) {
  for (const bytes of sizes) {
    const text = specText(bytes, shape);
    const times: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      const started = performance.now();
      readDeploymentYaml(text, `${shape}.yml`);
      times.push(performance.now() - started);
    }
    const best = Math.min(...times);
    const mb = Buffer.byteLength(text) / 1e6;
    console.log(
      `${shape.padEnd(12)} ${mb.toFixed(2)} MB  best of ${runs}: ${best.toFixed(0)} ms  (${(best / mb).toFixed(0)} ms/MB)`,
    );
  }
}
