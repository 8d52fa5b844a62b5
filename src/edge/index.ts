/**
 * The device side of the edge target: `EdgeAgent.start(options)` is `berth edge agent`. See
 * README.md.
 */
export { EdgeAgent } from './agent.js';
export type { EdgeAgentOptions } from './agent.js';
export { DeviceCache } from './cache.js';
export { extractBundle } from './untar.js';
