/**
 * The endpoint gateway: traffic split, mirror, keys, admission and least-outstanding balancing in
 * front of every deployment's replicas.
 */
export { Gateway, startGateway } from './gateway.js';
export type { DeploymentStatistics, GatewayState } from './gateway.js';
export { resolveGatewayOptions } from './options.js';
export type { GatewayOptions, ResolvedGatewayOptions } from './options.js';
export { bearerToken, generateKey, keyMatches } from './keys.js';
export { matchRoute } from './router.js';
export type { GatewayRoute } from './router.js';
export { maxMirrorPercent, mirrorTarget, pickByWeight, validateTraffic } from './traffic.js';
export type { TrafficSettings } from './traffic.js';
export { deploymentHeader, azureDeploymentHeader } from './headers.js';
export type { AuthMode, EndpointConfig, EndpointKeys, GatewayDeployment } from './types.js';
