/**
 * A control plane that is about to crash, for adopt.slow.test.ts: deploys the linear model to the
 * ssh target given (JSON in argv[2]) from the folder in argv[3], prints `deployed`, and waits to be
 * killed (SIGKILL: nothing is stopped on the machine).
 */
import { createSshTarget, type SshTargetConfig } from '../../../src/targets/ssh/index.js';
import { linearDeployment } from '../helpers.js';

const config = JSON.parse(process.argv[2] ?? '{}') as SshTargetConfig;
const dir = process.argv[3] ?? '';
const target = createSshTarget(config);
await target.deploy(
  { ...linearDeployment(dir), target: config.name ?? 'ssh', endpointName: 'ep', deploymentName: 'blue' },
  () => undefined,
);
process.stdout.write('deployed\n');
setInterval(() => undefined, 60_000);
