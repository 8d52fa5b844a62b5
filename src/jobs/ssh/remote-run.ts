/**
 * A job's run on the ssh target's machine, in `<workdir>/jobs/<run id>/`: the code (a copy of the
 * shipped, content-addressed snapshot, since the command may write into it), the path inputs, the
 * logging modules (`berth_run` for Python, `berth-run` for Node), an `env` file (mode 600, written through stdin: the job's variables never
 * appear in an argument), and per rank a detached supervisor shell in a session of its own
 * (`setsid`): it runs the command, then writes the exit code to `rank-<r>.exit` (atomically). The
 * session outlives the SSH connection; its id (`rank-<r>.pid`) is the process group that a cancel
 * ends, so the whole tree the command started goes with it.
 */
import { spawn } from 'node:child_process';
import { basename, dirname } from 'node:path';
import { BerthError } from '../../core/errors.js';
import { collect, shellQuote, type SshConnection } from '../../targets/ssh/connection.js';

export class RemoteRun {
  constructor(
    private readonly connection: SshConnection,
    /** `<workdir>/jobs/<run id>`, absolute on the machine. */
    readonly dir: string,
  ) {}

  get codeDir(): string {
    return `${this.dir}/code`;
  }

  get metricsFile(): string {
    return `${this.dir}/metrics.jsonl`;
  }

  get historyDir(): string {
    return `${this.dir}/history`;
  }

  /**
   * Makes the folder: the code copied from the cache, a folder per output, logs/, the history's
   * tables/ and images/, and the logging modules (`files`: paths relative to the run folder, so
   * `node_modules/berth-run/...` is found from the code as it is beside a local run).
   */
  async prepare(
    codeCacheDir: string,
    outputs: readonly string[],
    files: Readonly<Record<string, string>>,
  ): Promise<void> {
    const q = shellQuote;
    await this.connection.run(
      [
        `mkdir -p ${q(`${this.codeDir}/logs`)} ${q(`${this.codeDir}/outputs`)} ${q(`${this.historyDir}/tables`)} ${q(`${this.historyDir}/images`)}`,
        `cp -R ${q(`${codeCacheDir}/.`)} ${q(this.codeDir)}`,
        ...outputs.map((name) => `mkdir -p ${q(`${this.codeDir}/outputs/${name}`)}`),
        `touch ${q(this.metricsFile)}`,
      ].join(' && '),
      'making the run folder',
    );
    for (const [path, source] of Object.entries(files)) {
      const target = `${this.dir}/${path}`;
      await this.connection.run(
        `mkdir -p ${q(dirname(target))} && cat > ${q(target)}`,
        `writing ${path}`,
        source,
      );
    }
  }

  /** Ships a file or folder input to `inputs/<name>/<its name>`; returns its path there. */
  async shipInput(name: string, path: string): Promise<string> {
    const target = `${this.dir}/inputs/${name}`;
    const tar = spawn('tar', ['-C', dirname(path), '-cf', '-', '--', basename(path)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const upload = spawn(
      'ssh',
      this.connection.commandArgs(`mkdir -p ${shellQuote(target)} && tar -xf - -C ${shellQuote(target)}`),
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    tar.stdout.pipe(upload.stdin);
    upload.stdin.on('error', () => undefined);
    const [packed, unpacked] = await Promise.all([collect(tar, false), collect(upload)]);
    if (packed.code !== 0 || unpacked.code !== 0) {
      throw new BerthError(
        'BAD_INPUT',
        `cannot ship input ${name} (${path}) to ${this.connection.where}: ${(packed.stderr + unpacked.stderr).trim().slice(-1000)}`,
      );
    }
    return `${target}/${basename(path)}`;
  }

  /** Writes the environment and starts one detached supervisor shell per rank; returns their session ids. */
  async start(command: string, environment: Record<string, string>, ranks: number): Promise<number[]> {
    const q = shellQuote;
    const env = Object.entries(environment)
      .map(([name, value]) => `export ${name}=${q(value)}\n`)
      .join('');
    await this.connection.run(
      `umask 077 && cat > ${q(`${this.dir}/env`)}`,
      'writing the run environment',
      env,
    );
    const rankScript = `. ${q(`${this.dir}/env`)}; export RANK="$1" LOCAL_RANK="$1" AZ_BATCHAI_TASK_INDEX="$1"; cd ${q(this.codeDir)} && /bin/sh -c ${q(command)}`;
    const supervisor = `/bin/sh -c ${q(rankScript)} rank "$1" > "rank-$1.log" 2>&1; echo $? > "rank-$1.exit.tmp"; mv "rank-$1.exit.tmp" "rank-$1.exit"`;
    const starts = Array.from(
      { length: ranks },
      (_, rank) =>
        `setsid /bin/sh -c ${q(supervisor)} supervisor ${rank} < /dev/null > /dev/null 2>&1 & echo $!`,
    );
    const output = await this.connection.run(
      `cd ${q(this.dir)} || exit 1; ${starts.join('; ')}`,
      'starting the job',
    );
    return output
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  }

  /** The ranks that ended, with their exit codes. */
  async exits(): Promise<Map<number, number>> {
    const output = await this.connection.run(
      `cd ${shellQuote(this.dir)} && for f in rank-*.exit; do [ -f "$f" ] && echo "$f $(cat "$f")"; done; exit 0`,
      'reading the job state',
    );
    const ended = new Map<number, number>();
    for (const line of output.split('\n')) {
      const match = /^rank-(\d+)\.exit (\d+)$/.exec(line.trim());
      if (match !== null) ended.set(Number(match[1]), Number(match[2]));
    }
    return ended;
  }

  /** What a file of the run holds from byte `offset` on (logs, metrics). */
  async readFrom(file: string, offset: number): Promise<Buffer> {
    await this.connection.reopen();
    const child = spawn(
      'ssh',
      this.connection.commandArgs(
        `tail -c +${offset + 1} ${shellQuote(`${this.dir}/${file}`)} 2>/dev/null; exit 0`,
      ),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    const result = await collect(child, false);
    if (result.code !== 0)
      throw new BerthError('NOT_READY', `cannot read ${file} on ${this.connection.where}`);
    return Buffer.concat(chunks);
  }

  /** SIGTERM to every rank's process group, SIGKILL to what is left after `graceMs`. */
  async end(sessions: readonly number[], graceMs: number): Promise<void> {
    if (sessions.length === 0) return;
    const groups = sessions.map((pid) => `-${pid}`).join(' ');
    const seconds = Math.ceil(graceMs / 1000);
    await this.connection.run(
      `kill -TERM ${groups} 2>/dev/null; i=0; while [ $i -lt ${seconds * 10} ] && kill -0 ${groups} 2>/dev/null; do sleep 0.1; i=$((i+1)); done; kill -KILL ${groups} 2>/dev/null; exit 0`,
      'ending the job',
    );
  }

  /** Brings the code folder's `outputs/` and `logs/`, and the history's tables and images, back into `localRunDir`. */
  async fetchResults(localRunDir: string): Promise<void> {
    await this.connection.reopen();
    const download = spawn(
      'ssh',
      this.connection.commandArgs(
        `cd ${shellQuote(this.dir)} && tar -cf - code/outputs code/logs history/tables history/images`,
      ),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const untar = spawn('tar', ['-xf', '-', '-C', localRunDir], { stdio: ['pipe', 'ignore', 'pipe'] });
    download.stdout.pipe(untar.stdin);
    untar.stdin.on('error', () => undefined);
    const [sent, unpacked] = await Promise.all([collect(download, false), collect(untar)]);
    if (sent.code !== 0 || unpacked.code !== 0) {
      throw new BerthError(
        'INTERNAL',
        `cannot bring the outputs back from ${this.connection.where}: ${(sent.stderr + unpacked.stderr).trim().slice(-1000)}`,
      );
    }
  }

  /** Deletes the run's folder, and `jobs/` once empty. */
  async remove(): Promise<void> {
    await this.connection.run(
      `rm -rf ${shellQuote(this.dir)}; rmdir ${shellQuote(dirname(this.dir))} 2>/dev/null; exit 0`,
      'removing the run folder',
    );
  }
}
