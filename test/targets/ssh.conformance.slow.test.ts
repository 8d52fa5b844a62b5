/**
 * The ssh target runs the shared conformance suite: replicas are scoring servers on a machine
 * reached through a real OpenSSH server (this machine, on loopback), traffic through port forwards.
 */
import { sshdMissing } from '../helpers/sshd.js';
import { describeTargetConformance } from './conformance.js';
import { sshFixture, type SshFixture } from './ssh/fixture.js';

let fixture: SshFixture | undefined;
describeTargetConformance(
  'ssh',
  async () => {
    fixture = await sshFixture('ssh');
    return { target: fixture.target, cleanup: () => fixture?.cleanup() ?? Promise.resolve() };
  },
  {
    skip: sshdMissing(),
    leftovers: async (handles) => fixture?.leftovers(handles.map((handle) => handle.id)) ?? [],
  },
);
