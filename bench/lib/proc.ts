/**
 * Linux /proc sampling of the processes under test: CPU time (utime + stime) and peak RSS (VmHWM).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`, 100 on Linux). */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * Fields of /proc/<pid>/stat (or of a thread's /proc/<pid>/task/<tid>/stat, `file`) after the command
 * name (which may contain spaces and parentheses).
 */
function statFields(pid: number, file = `/proc/${pid}/stat`): string[] | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * CPU time a process has used, user + system, in seconds (fields 14 and 15 of /proc/<pid>/stat).
 *
 * @param pid process id.
 * @returns seconds, or 0 when the process is gone.
 */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  return f ? statCpuSeconds(f) : 0;
}

/** utime + stime of {@link statFields}, seconds. */
function statCpuSeconds(f: readonly string[]): number {
  // After "pid (comm) ", field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
  return (Number(f[11]) + Number(f[12])) / ticksPerSecond();
}

/**
 * Peak resident set size of a process (VmHWM of /proc/<pid>/status), in MB (10^6 bytes).
 *
 * @returns MB, or 0 when the process is gone.
 */
export function peakRssMb(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? (Number(m[1]) * 1024) / 1e6 : 0;
  } catch {
    return 0;
  }
}

/**
 * Current resident set size of a process (VmRSS of /proc/<pid>/status), in MB (10^6 bytes).
 *
 * @returns MB, or 0 when the process is gone.
 */
export function rssMb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? (Number(m[1]) * 1024) / 1e6 : 0;
  } catch {
    return 0;
  }
}

/**
 * Direct children of a process (e.g. nginx workers of their master), from
 * /proc/<pid>/task/<pid>/children, else by scanning every /proc/<n>/stat for the parent id.
 */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    const out: number[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      if (Number(statFields(Number(name))?.[1]) === pid) out.push(Number(name));
    }
    return out;
  }
}

/** One thread's scheduling counters: CPU time, and time spent runnable but waiting for a core. */
export interface ThreadSched {
  /** utime + stime of the thread (/proc/<pid>/task/<tid>/stat), seconds. */
  readonly cpuS: number;
  /** Time runnable but not running (the second field of /proc/<pid>/task/<tid>/schedstat), seconds. */
  readonly waitS: number;
}

/**
 * The scheduling counters of a process's main thread (a Node process's event loop), or undefined
 * when the process is gone or the kernel keeps no schedstat.
 */
export function mainThreadSched(pid: number): ThreadSched | undefined {
  const f = statFields(pid, `/proc/${pid}/task/${pid}/stat`);
  if (!f) return undefined;
  try {
    const sched = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ');
    return { cpuS: statCpuSeconds(f), waitS: Number(sched[1]) / 1e9 };
  } catch {
    return undefined;
  }
}

/** What a server's event loop did during a run (NaN when not measured). */
export interface LoopFigures {
  /** Event-loop CPU per 2xx response, µs. */
  readonly loopCpuUsPerReq: number;
  /** Share of the run's wall time the event loop was on a core, %. */
  readonly loopOnCpuPct: number;
  /** Share of the run's wall time the event loop was runnable but waiting for a core, %. */
  readonly loopWaitPct: number;
}

/**
 * Event-loop figures of a run from snapshots taken before and after it.
 *
 * @param wallS the run's wall time, seconds; `ok` its 2xx responses.
 */
export function loopFigures(
  before: ThreadSched | undefined,
  after: ThreadSched | undefined,
  wallS: number,
  ok: number,
): LoopFigures {
  if (!before || !after || wallS <= 0) {
    return { loopCpuUsPerReq: Number.NaN, loopOnCpuPct: Number.NaN, loopWaitPct: Number.NaN };
  }
  const cpu = after.cpuS - before.cpuS;
  return {
    loopCpuUsPerReq: ok ? (cpu * 1e6) / ok : Number.NaN,
    loopOnCpuPct: (cpu / wallS) * 100,
    loopWaitPct: ((after.waitS - before.waitS) / wallS) * 100,
  };
}

/** CPU seconds summed over a set of processes. */
export function totalCpuSeconds(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/** Peak RSS summed over a set of processes (nginx: master + workers), in MB. */
export function totalPeakRssMb(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + peakRssMb(pid), 0);
}
