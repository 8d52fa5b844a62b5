/**
 * A submitter the exactly-once test can SIGKILL: runs one batch job through the SDK and prints
 * its id as soon as it exists. argv: workspace dir, deployment JSON, base dir, input, output.
 */
import { BatchOperations } from '../../src/sdk/batch.js';
import { Workspace } from '../../src/sdk/workspace.js';

const [workspaceDir, deploymentJson, baseDir, input, output] = process.argv.slice(2);
const workspace = await Workspace.open({ dir: workspaceDir });
try {
  const batch = new BatchOperations(workspace.dir, workspace.models);
  const status = await batch.run({
    deployment: JSON.parse(deploymentJson ?? '{}') as Record<string, unknown>,
    baseDir,
    input: input ?? '',
    output: output ?? '',
    onCreated: (id) => process.stdout.write(`${id}\n`),
  });
  process.stdout.write(`${status.state}\n`);
} finally {
  await workspace.close();
}
