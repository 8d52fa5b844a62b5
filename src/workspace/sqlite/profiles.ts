/**
 * The model-profile queries of the SQLite store: one measured profile per model version, replaced
 * by the next `berth profile` of that version and deleted with the version (ON DELETE CASCADE).
 */
import type { Database } from 'better-sqlite3';
import { BerthError } from '../../core/errors.js';
import { modelProfileSchema, type ModelProfile } from '../../core/model-profile.js';
import { formatModelRef } from '../../core/names.js';

export function saveModelProfile(db: Database, name: string, version: number, profile: ModelProfile): void {
  const exists = db.prepare('SELECT 1 FROM model_versions WHERE name = ? AND version = ?').get(name, version);
  if (exists === undefined)
    throw new BerthError('NOT_FOUND', `model ${formatModelRef({ name, version })} does not exist`);
  db.prepare(
    `INSERT INTO model_profiles (model_name, model_version, profile_json, measured_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (model_name, model_version) DO UPDATE SET
       profile_json = excluded.profile_json, measured_at = excluded.measured_at`,
  ).run(name, version, JSON.stringify(profile), profile.measuredAt);
}

/** The stored profile, or undefined when the version was never profiled. */
export function getModelProfile(db: Database, name: string, version: number): ModelProfile | undefined {
  const row = db
    .prepare('SELECT profile_json FROM model_profiles WHERE model_name = ? AND model_version = ?')
    .get(name, version) as { profile_json: string } | undefined;
  if (row === undefined) return undefined;
  const parsed = modelProfileSchema.safeParse(JSON.parse(row.profile_json));
  if (!parsed.success) {
    throw new BerthError(
      'INTERNAL',
      `the stored profile of ${formatModelRef({ name, version })} is unreadable (${parsed.error.issues[0]?.message ?? 'invalid'}): run berth profile again`,
    );
  }
  return parsed.data;
}
