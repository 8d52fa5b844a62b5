/**
 * The edge target: `createEdgeTarget({ kind: 'edge', broker: 'mqtt://…', deviceGroup: 'line-a' })`
 * publishes deployments to a device group over MQTT; `berth edge agent` (src/edge) runs them on
 * the devices. See README.md.
 */
import { resolveEdgeTargetConfig, type EdgeTargetConfig } from './config.js';
import { EdgeTarget } from './target.js';

export { edgeTargetConfigSchema, resolveEdgeTargetConfig, rolloutSettingsSchema } from './config.js';
export type { EdgeTargetConfig, ResolvedEdgeTargetConfig, ResolvedRollout, WaveSize } from './config.js';
export { planWaves } from './rollout.js';
export { EdgeTarget } from './target.js';
export { openBroker, connectBroker, sendImmediately } from './connect.js';
export type { BrokerOptions } from './connect.js';
export type { DeviceView, FleetView } from './fleet.js';
export {
  bundleManifestSchema,
  desiredStateSchema,
  deviceIdSchema,
  readMessage,
  rolloutSchema,
  topicLevelSchema,
  topicPrefixSchema,
  topicsFor,
  twinSchema,
} from './protocol.js';
export type {
  BundleManifest,
  DesiredState,
  DeviceState,
  Rollout,
  RolloutState,
  Topics,
  Twin,
} from './protocol.js';

export function createEdgeTarget(config: EdgeTargetConfig): EdgeTarget {
  return new EdgeTarget(resolveEdgeTargetConfig(config));
}
