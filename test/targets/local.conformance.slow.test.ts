/** The local target runs the shared conformance suite: replicas are child processes on loopback. */
import { createLocalTarget } from '../../src/targets/local/index.js';
import { describeTargetConformance } from './conformance.js';
import { livePids, tempDir } from './helpers.js';

describeTargetConformance(
  'local',
  async () => {
    const dir = tempDir('local-conformance-target');
    const target = createLocalTarget({ kind: 'local', logsDir: `${dir.path}/logs` });
    return { target, cleanup: () => target.close().finally(dir.remove) };
  },
  { leftovers: async (handles) => livePids(handles.flatMap((handle) => handle.data.pids)) },
);
