/**
 * Settings of a job that its target does not honour, as warnings: a job is never refused for
 * them, but the user is told, as deployments are (the settings walk). A container job's Python
 * requirements are checked here too, before anything runs: one with no installed Debian package
 * is refused (INVALID_SPEC) naming the package to install, as a deployment's is.
 */
import { readDebianDatabase } from '../targets/container/debian-packages.js';
import { debianPackagesFor } from '../targets/container/python-requirements.js';
import type { TargetKind } from '../targets/target.js';
import type { JobDefinition } from './definition.js';

/** Targets that hold a job to `resources.cpu`, `memory` and `shm_size`. */
const enforcesJobResources: readonly TargetKind[] = ['container'];

export function jobTargetWarnings(definition: JobDefinition, kind: TargetKind): string[] {
  const warnings: string[] = [];
  if (!enforcesJobResources.includes(kind)) {
    const { cpu, memoryBytes, shmBytes } = definition.resources;
    const given = [
      cpu === undefined ? undefined : 'resources.cpu',
      memoryBytes === undefined ? undefined : 'resources.memory',
      shmBytes === undefined ? undefined : 'resources.shm_size',
    ].filter((field): field is string => field !== undefined);
    if (given.length > 0)
      warnings.push(
        `${given.join(', ')}: not enforced on target "${definition.compute}" (${kind}): the command uses what the machine has (a container target holds a job to them)`,
      );
  }
  if (kind === 'cluster' && definition.instanceCount > 1)
    warnings.push(
      `resources.instance_count: the ${definition.instanceCount} ranks run as ${definition.instanceCount} processes on the one worker that takes the job (LOCAL_RANK = RANK, MASTER_ADDR 127.0.0.1), not spread across workers; a lost worker retries them all on another`,
    );
  const requirements = definition.python?.requirements ?? [];
  if (kind === 'container' && requirements.length > 0)
    warnings.push(...debianPackagesFor(requirements, readDebianDatabase()).warnings);
  else if (requirements.length > 0)
    warnings.push(
      `environment.conda_file / requirements.txt: not installed on target "${definition.compute}" (${kind}): the command runs with the Python that machine has (a container target builds the packages into the job's image)`,
    );
  return warnings;
}
