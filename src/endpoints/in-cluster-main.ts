/**
 * The entry point of a gateway pod (bundled into the gateway image by src/targets/kubernetes/gateway-image.ts): runs the
 * in-cluster gateway (in-cluster.ts) until SIGTERM or SIGINT, routes on (not ready) for
 * `BERTH_STOP_DELAY_MS`, then drains and exits. A second signal ends the delay.
 */
import { stopDelayFromEnv } from '../core/stop-delay.js';
import { runGatewayPod } from './in-cluster.js';

const runner = await runGatewayPod().catch((error: unknown) => {
  console.error(`gateway: cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
let delayMs = 0;
try {
  delayMs = stopDelayFromEnv(process.env)?.stopDelayMs ?? 0;
} catch (error) {
  console.error(`gateway: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}
let stopping = false;
let delay: NodeJS.Timeout | undefined;
const drain = (): void => {
  if (stopping) return;
  stopping = true;
  clearTimeout(delay);
  void runner.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
const stop = (signal: string): void => {
  if (delay !== undefined || delayMs === 0) {
    console.log(`gateway: ${signal}: draining`);
    drain();
    return;
  }
  console.log(`gateway: ${signal}: routing ${delayMs} ms more, not ready, then draining`);
  runner.unready();
  delay = setTimeout(drain, delayMs);
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
