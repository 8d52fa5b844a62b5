/**
 * The ssh target: each replica is the scoring server run on a machine reached over SSH (a dev VM,
 * a GPU box, an on-premises server), by the system OpenSSH client. See README.md.
 *
 * The shared ReplicaSetTarget does the plumbing (states open → closing → closed, handles
 * `{ target, kind: 'ssh', id: '<endpoint>/<deployment>', data }`); this class adds the connection,
 * the check of the machine before anything starts, and the artifacts shipped to it. A generation's
 * release ships what it runs (content-addressed, see artifacts.ts); remove() then deletes the
 * deployment's folder and every shipped artifact no deployment of this target still uses, and the
 * workdir itself once empty. A replica's remote supervisor outlives its SSH session (its bridge
 * reconnects and adopts it); after a control-plane restart the control plane calls deploy() again,
 * which ends the supervisors the previous process left under other replica names (removeOrphans)
 * and adopts those of the same replicas and release.
 */
import { toBerthError } from '../../core/errors.js';
import { initialInstances } from '../../core/specs/scale-settings.js';
import { targetCapabilities } from '../capabilities.js';
import { isPythonScript } from '../../scoring/runtimes/python/engine.js';
import { serverBundle } from '../container/bundle.js';
import { deploymentRequirements } from '../container/python-layer.js';
import type { Replica } from '../local/replica.js';
import type { ReplicaSet } from '../shared/replica-set.js';
import { deploymentId, ReplicaSetTarget, type TargetState } from '../shared/replica-set-target.js';
import type {
  DeploymentHandle,
  LogLine,
  LogOptions,
  Progress,
  ResolvedDeployment,
  TargetCapabilities,
} from '../target.js';
import { RemoteArtifacts, type Shipped } from './artifacts.js';
import type { ResolvedSshTargetConfig } from './config.js';
import { SshConnection } from './connection.js';
import { failOnProblems, machineProblems, readMachine, type MachineFacts } from './machine.js';
import { pythonNeeds, pythonProblems, pythonWorkerFolder } from './python.js';
import { supervisorFile, supervisorSource } from './remote-supervisor.js';
import { codeDirOf, endSupervisors, SshReplicas, type SshRelease } from './replica-factory.js';

export type SshTargetState = TargetState;

export interface MachineReport {
  reachable: boolean;
  /** Why it could not be reached (host key, key, network), when it could not. */
  error?: string;
  facts?: MachineFacts;
  /** What it lacks to run replicas, each with what to do. */
  missing: string[];
}

/** Disk the server bundle and its runtime take on the machine, with room to spare. */
export const serverBytes = 400 * 2 ** 20;

export class SshTarget extends ReplicaSetTarget<Replica, SshRelease, SshReplicas> {
  readonly kind = 'ssh';
  readonly capabilities: TargetCapabilities = targetCapabilities.ssh;
  readonly connection: SshConnection;
  private facts: Promise<MachineFacts> | undefined;
  /** The cache entries each deployment's releases use, kept until the deployment is removed. */
  private readonly inUse = new Map<string, Set<string>>();
  /** The machine's absolute workdir, known once reachable() has run. */
  private workdir = '';
  /** Whether the machine runs replicas in systemd user scopes, known once reachable() has run. */
  private userScopes = false;

  constructor(readonly config: ResolvedSshTargetConfig) {
    super(config.name, 'replicas live as long as the process that deployed them');
    this.connection = new SshConnection(config);
  }

  /** What the machine is (read once per connection): `berth target show` prints it. */
  machine(): Promise<MachineFacts> {
    this.facts ??= readMachine(this.connection, this.config).catch((error: unknown) => {
      this.facts = undefined;
      throw error;
    });
    return this.facts;
  }

  /**
   * Whether the machine answers and what it is, for `berth target show`: the facts and what it
   * lacks to run replicas (with a model of `modelBytes`), or why it could not be reached.
   */
  async inspect(modelBytes = 0): Promise<MachineReport> {
    try {
      const facts = await this.machine();
      return {
        reachable: true,
        facts,
        missing: machineProblems(facts, this.config, serverBytes + modelBytes),
      };
    } catch (error) {
      return { reachable: false, error: toBerthError(error).message, missing: [] };
    }
  }

  logs(handle: DeploymentHandle, options: LogOptions): AsyncIterable<LogLine> {
    return this.find(handle).factory.logs.read(options.lines, options.follow, options.signal);
  }

  override async remove(handle: DeploymentHandle): Promise<void> {
    const known = this.deployments.has(handle.id);
    await super.remove(handle);
    this.inUse.delete(handle.id);
    if (known) await this.prune();
  }

  override async close(): Promise<void> {
    if (this.state !== 'open') return;
    try {
      await super.close();
      this.inUse.clear();
      if (this.facts !== undefined) await this.prune();
    } finally {
      await this.connection.close();
    }
  }

  protected override async reachable(): Promise<void> {
    const facts = await this.machine();
    this.workdir = facts.workdir;
    this.userScopes = facts.userScopes;
  }

  /** How many replicas one deployment may have: four per core of the machine. */
  protected async capacity(): Promise<{ max: number; basis: string }> {
    const { cores } = await this.machine();
    const max = Math.max(1, cores) * 4;
    return { max, basis: `${cores} core(s) on ${this.connection.where} × 4 = ${max}` };
  }

  protected createFactory(_id: string, spec: ResolvedDeployment): SshReplicas {
    // reachable() ran first, so the workdir is known.
    return new SshReplicas(spec, this.config, this.connection, this.workdir, this.userScopes);
  }

  protected async release(spec: ResolvedDeployment, progress: Progress): Promise<SshRelease> {
    const id = deploymentId(spec);
    const facts = await this.machine();
    const python = isPythonScript(spec.scoringScript);
    const problems = [
      ...machineProblems(facts, this.config, spec.model.sizeBytes + serverBytes),
      ...(python
        ? await pythonProblems(
            this.connection,
            this.config,
            pythonNeeds(deploymentRequirements(spec), codeDirOf(spec)),
          )
        : []),
    ];
    failOnProblems(problems, this.connection.where);
    if (spec.resources.memoryBytes !== undefined || spec.resources.cpu !== undefined) {
      progress(
        facts.userScopes
          ? `${id}: resources enforced on ${this.connection.where} by cgroups (systemd-run --user --scope: MemoryMax, CPUQuota)`
          : `${id}: ${this.connection.where} has no systemd user scopes: resources.memory is held by the scoring server itself (its whole-process limit), resources.cpu is not enforced`,
      );
    }
    const artifacts = new RemoteArtifacts(this.connection, facts.workdir, this.config.cacheDir);
    const used = this.inUse.get(id) ?? new Set<string>();
    this.inUse.set(id, used);
    const names: string[] = [];
    const ship = async (what: string, shipping: Promise<Shipped>): Promise<string> => {
      const shipped = await shipping;
      used.add(shipped.name);
      names.push(shipped.name);
      const resumed = shipped.resumedFrom > 0 ? ` (resumed after ${shipped.resumedFrom} bytes)` : '';
      progress(
        `${id}: ${what} ${shipped.sent ? 'shipped to' : 'already on'} ${this.connection.where}${resumed}`,
      );
      return shipped.remoteDir;
    };
    const bundle = await serverBundle(this.config.cacheDir);
    const codeDir = codeDirOf(spec);
    // All four at once (each a round trip, or an upload); reported in a fixed order.
    const shipping = {
      server: artifacts.ship('server', bundle.dir, bundle.sha256),
      supervisor: artifacts.shipFile('supervisor', supervisorFile, supervisorSource, this.config.cacheDir),
      model: artifacts.ship('model', spec.model.modelDir),
      code: codeDir === undefined ? undefined : artifacts.ship('code', codeDir),
      python: python ? artifacts.ship('python', pythonWorkerFolder(this.config.cacheDir)) : undefined,
    };
    for (const pending of Object.values(shipping)) void pending?.catch(() => undefined);
    const server = await ship('scoring server', shipping.server);
    const supervisor = await ship('supervisor', shipping.supervisor);
    const model = await ship(`model ${spec.model.name}:${spec.model.version}`, shipping.model);
    const code = shipping.code === undefined ? undefined : await ship('code', shipping.code);
    const pythonWorker =
      shipping.python === undefined ? undefined : await ship('Python worker', shipping.python);
    return { server, supervisor, model, code, python: pythonWorker, names };
  }

  /**
   * Ends the supervisors (and their servers) a crashed predecessor left running for this deployment:
   * they outlive their SSH sessions (remote-supervisor.ts), and a fresh deploy must not adopt them.
   */
  protected async removeOrphans(spec: ResolvedDeployment): Promise<void> {
    const runDir = `${this.workdir}/run/${spec.endpointName}.${spec.deploymentName}`;
    // A fresh deploy starts generation 1 (instance_count, or an autoscaled deployment's first
    // count): its replicas may adopt those of the same release.
    const keep = Array.from(
      { length: initialInstances(spec.instanceCount, spec.scaleSettings ?? { type: 'default' }) },
      (_, index) => `${spec.deploymentName}-1-${index}`,
    );
    await this.connection.run(endSupervisors(runDir, keep), 'ending the supervisors left running');
  }

  /** Scaling decisions appear in `berth deployment logs` beside the replicas' lines. */
  protected override scaleLog(id: string, line: string): void {
    this.deployments.get(id)?.factory.logs.push({
      replica: 'autoscaler',
      time: new Date().toISOString(),
      stream: 'stdout',
      text: line,
    });
  }

  protected handleData(deployment: ReplicaSet<Replica, SshRelease, SshReplicas>): Record<string, unknown> {
    return {
      machine: this.connection.where,
      runDir: deployment.factory.runDir,
      logFile: deployment.factory.logs.filePath,
      replicas: deployment.replicas().map((replica) => ({ id: replica.id, url: replica.url })),
    };
  }

  private async prune(): Promise<void> {
    const facts = await this.machine();
    const keep = new Set([...this.inUse.values()].flatMap((names) => [...names]));
    await new RemoteArtifacts(this.connection, facts.workdir, this.config.cacheDir).prune(keep);
  }
}
