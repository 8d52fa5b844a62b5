/**
 * Where a batch job runs, as written: the file's `compute` (or berth's older `target`), or
 * `--target`, which replaces it before anything in the file's compute is looked at. Only the
 * syntax is checked here; what a name means is the workspace's to say (the SDK looks it up in the
 * one target registry), so a file naming a target of another workspace is still a valid file.
 *
 * - absent, `local`, `embedded` (the older word): worker processes on this machine;
 * - `azureml:NAME` (Azure's spelling) or `NAME`: a target kind, or a target from `berth target create`;
 * - `cluster:redis://host:port[/db]`: a cluster given by its address, with the default queue prefix.
 */
import { BerthError } from '../../core/errors.js';
import { namePattern } from '../../core/names.js';
import { parseClusterAddress } from '../cluster/config.js';

export type ComputeRef =
  | { kind: 'name'; name: string; written: string }
  | { kind: 'cluster-address'; redis: string; written: string };

const azurePrefix = 'azureml:';

/** INVALID_SPEC with a message that does not name the field: the caller knows where the text came from. */
export function parseComputeRef(text: string | undefined): ComputeRef {
  if (text === undefined) return { kind: 'name', name: 'local', written: 'local' };
  const written = text.trim();
  if (written === 'embedded') return { kind: 'name', name: 'local', written };
  if (written.startsWith('cluster:')) {
    try {
      const endpoint = parseClusterAddress(written);
      return { kind: 'cluster-address', redis: written.slice('cluster:'.length), written: endpoint.display };
    } catch (error) {
      throw new BerthError('INVALID_SPEC', (error as Error).message);
    }
  }
  const name = written.startsWith(azurePrefix) ? written.slice(azurePrefix.length) : written;
  if (!namePattern.test(name)) {
    throw new BerthError(
      'INVALID_SPEC',
      `${JSON.stringify(text)} is not a target: use local, a target's name (azureml:NAME or NAME; see berth target list) or cluster:redis://host:port`,
    );
  }
  return { kind: 'name', name, written };
}
