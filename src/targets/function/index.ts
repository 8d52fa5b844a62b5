/**
 * The function target: `createFunctionTarget({ kind: 'function' })` runs each deployment as a
 * function package behind a local function host; `writeFunctionPackage` writes the package for
 * AWS Lambda, Azure Functions or any fetch-style runtime. See README.md.
 */
import { resolveFunctionTargetConfig, type FunctionTargetConfig } from './config.js';
import { FunctionTarget } from './target.js';

export { functionTargetConfigSchema, resolveFunctionTargetConfig } from './config.js';
export type { FunctionTargetConfig, ResolvedFunctionTargetConfig } from './config.js';
export { functionKinds, isFunctionKind } from './kinds.js';
export type { FunctionKind } from './kinds.js';
export { FunctionTarget } from './target.js';
export { functionScoringOptions, writeFunctionFolder, writeFunctionPackage } from './package.js';
export type { FunctionPackage } from './package.js';

export function createFunctionTarget(config: FunctionTargetConfig): FunctionTarget {
  return new FunctionTarget(resolveFunctionTargetConfig(config));
}
