/**
 * CPU time spent per item: the measure the machine's other load disturbs least. A busy neighbour
 * stretches a run's wall clock, but hardly changes how many CPU-seconds the run itself spends per
 * item, so this column tells what an engine adds even when the items/s column is noisy. Read from
 * /proc (Linux); undefined elsewhere.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux architecture Node supports. */
const ticksPerSecond = 100;

/** Parent pid and CPU ticks (own, and those of its reaped children) of one process. */
function readStat(pid: number): { parent: number; ticks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after "(command) ": state, ppid, …, utime, stime, cutime, cstime (fields 14-17).
    const fields = text
      .slice(text.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    const [utime = 0, stime = 0, cutime = 0, cstime = 0] = fields.slice(11, 15);
    return { parent: fields[1] ?? 0, ticks: utime + stime + cutime + cstime };
  } catch {
    return undefined;
  }
}

/**
 * CPU-seconds used so far by this process and every process under it (worker processes, raw
 * children), children that already exited included: their time is in their parent's reaped total.
 */
export function treeCpuSeconds(): number | undefined {
  let pids: number[];
  try {
    pids = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return undefined;
  }
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat === undefined) continue;
    ticks.set(pid, stat.ticks);
    children.set(stat.parent, [...(children.get(stat.parent) ?? []), pid]);
  }
  let total = 0;
  const pending = [process.pid];
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    total += ticks.get(pid) ?? 0;
    pending.push(...(children.get(pid) ?? []));
  }
  return total / ticksPerSecond;
}

/** CPU-seconds the Redis server has used (INFO cpu): the cluster engine's share of it counts too. */
export async function redisCpuSeconds(redis: Redis): Promise<number | undefined> {
  const info = await redis.info('cpu');
  const field = (name: string): number | undefined => {
    const match = new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  };
  const user = field('used_cpu_user');
  const system = field('used_cpu_sys');
  return user === undefined || system === undefined ? undefined : user + system;
}

/**
 * Runs `body` and adds to the CPU-seconds it answers what the Redis server spent meanwhile: a queue's
 * work in Redis is its engine's work too.
 */
export async function withRedisCpu<T extends { cpuSeconds: number | undefined }>(
  redis: Redis,
  body: () => Promise<T>,
): Promise<T> {
  const before = await redisCpuSeconds(redis);
  const result = await body();
  const after = await redisCpuSeconds(redis);
  const cpuSeconds =
    result.cpuSeconds === undefined || before === undefined || after === undefined
      ? undefined
      : result.cpuSeconds + after - before;
  return { ...result, cpuSeconds };
}
