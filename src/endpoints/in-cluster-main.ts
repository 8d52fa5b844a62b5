/**
 * The entry point of a gateway pod (bundled into the gateway image by src/targets/kubernetes/gateway-image.ts): runs the
 * in-cluster gateway (in-cluster.ts) until SIGTERM or SIGINT, then drains and exits.
 */
import { runGatewayPod } from './in-cluster.js';

const runner = await runGatewayPod().catch((error: unknown) => {
  console.error(`gateway: cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
let stopping = false;
const stop = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  console.log(`gateway: ${signal}: draining`);
  void runner.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
