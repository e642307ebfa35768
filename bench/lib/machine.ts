/** The machine and software a run was measured on. */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import { wrkVersion } from './wrk.js';

/** What the report states about the machine. */
export interface MachineInfo {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGb: number;
  readonly kernel: string;
  readonly node: string;
  readonly nginx: string;
  readonly autocannon: string;
  /** wrk's version, or 'not installed' (absent from results saved before wrk was supported). */
  readonly wrk?: string;
  readonly postgres: string;
  readonly loadavg: string;
}

/** Runs a command and returns its output (stdout, else stderr: `nginx -v` prints to stderr). */
function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return (r.stdout?.trim() || r.stderr?.trim()) ?? '';
}

/** Where nginx is, or undefined when it is not installed. */
export function findNginx(): string | undefined {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/**
 * Collects the machine description (`nproc`, /proc/cpuinfo, /proc/meminfo, versions).
 *
 * @param postgres the PostgreSQL server's version line (or why there is none).
 * @param wrk the wrk executable when installed (`findWrk`), whether or not this run uses it.
 */
export function describeMachine(postgres: string, wrk: string | undefined): MachineInfo {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  const nginx = findNginx();
  const req = createRequire(import.meta.url);
  let autocannonVersion = 'unknown';
  try {
    autocannonVersion = (req('autocannon/package.json') as { version: string }).version;
  } catch {
    /* keep unknown */
  }
  return {
    cores: Number(run('nproc', [])) || os.cpus().length,
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    memoryGb: Math.round((Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0) / 1024 / 1024) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    nginx: nginx ? run(nginx, ['-v']).replace(/^nginx version:\s*/, '') : 'not installed',
    autocannon: autocannonVersion,
    wrk: wrk ? wrkVersion(wrk) : 'not installed',
    postgres,
    loadavg: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}
