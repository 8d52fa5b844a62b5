import { z } from 'zod';
import { BerthError } from './errors.js';

/** Names of models, endpoints, deployments and targets: letters, digits, '-' and '_', 1-63 chars. */
export const namePattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

export const nameSchema = z
  .string()
  .regex(namePattern, 'must be 1-63 letters, digits, "-" or "_", starting with a letter or digit');

export function assertName(value: string, what = 'name'): string {
  if (!namePattern.test(value)) {
    throw new BerthError(
      'INVALID_NAME',
      `invalid ${what} ${JSON.stringify(value)}: use 1-63 letters, digits, "-" or "_", starting with a letter or digit`,
    );
  }
  return value;
}

/** A reference to a model: `name` (the latest version), `name:3`, or `azureml:name:3`. */
export interface ModelRef {
  name: string;
  version: number | undefined;
}

export function parseModelRef(text: string): ModelRef {
  const stripped = text.startsWith('azureml:') ? text.slice('azureml:'.length) : text;
  const [name = '', version, ...rest] = stripped.split(':');
  if (rest.length > 0) throw new BerthError('BAD_INPUT', `invalid model reference ${JSON.stringify(text)}`);
  assertName(name, 'model name');
  if (version === undefined || version === 'latest') return { name, version: undefined };
  if (!/^[1-9][0-9]{0,8}$/.test(version)) {
    throw new BerthError(
      'BAD_INPUT',
      `invalid model version ${JSON.stringify(version)} in ${JSON.stringify(text)}: use a positive integer`,
    );
  }
  return { name, version: Number(version) };
}

export function formatModelRef(ref: { name: string; version: number }): string {
  return `${ref.name}:${ref.version}`;
}
