/**
 * Which loaded model a request names, by the same rule and with the same messages as the HTTP
 * front end: the given version, or with none given the newest one loaded (numeric versions
 * compare as numbers).
 */
import { BerthError } from '../../core/errors.js';
import type { LoadedModel } from '../engine.js';

function compareVersions(a: string, b: string): number {
  const numeric = /^\d+$/;
  if (numeric.test(a) && numeric.test(b)) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every loaded version of `name`, oldest first. */
export function versionsOf(models: readonly LoadedModel[], name: string): LoadedModel[] {
  return models.filter((model) => model.name === name).sort((a, b) => compareVersions(a.version, b.version));
}

/** The model a request names ('' is no version), or undefined. */
export function findModel(
  models: readonly LoadedModel[],
  name: string,
  version: string,
): LoadedModel | undefined {
  const versions = versionsOf(models, name);
  return version === '' ? versions[versions.length - 1] : versions.find((model) => model.version === version);
}

/** The model a request names; NOT_FOUND, naming what is loaded, when there is none. */
export function requireModel(models: readonly LoadedModel[], name: string, version: string): LoadedModel {
  if (name === '') throw new BerthError('BAD_INPUT', 'the model name is required');
  const versions = versionsOf(models, name);
  if (versions.length === 0) throw new BerthError('NOT_FOUND', `unknown model "${name}"`);
  if (version === '') return versions[versions.length - 1]!;
  const found = versions.find((model) => model.version === version);
  if (found === undefined) {
    throw new BerthError(
      'NOT_FOUND',
      `model "${name}" has no version "${version}" (loaded: ${versions.map((model) => model.version).join(', ')})`,
    );
  }
  return found;
}
