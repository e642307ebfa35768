/**
 * Child processes under test: spawn, wait until ready, notice an unexpected death, stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';

/** A running child process. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly proc: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** The last 4 KB written to stderr (for error messages). */
  stderrTail(): string;
  /** Set when the process exited before `stop()` was called: a run that saw this is invalid. */
  readonly died: { code: number | null; signal: string | null } | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Options of {@link spawnChild}. */
export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Resolves once the child is ready, given its output so far; polled on output and every 50 ms. */
  readonly ready: (out: { stdout: string; stderr: string }) => boolean | Promise<boolean>;
  /** Readiness deadline in milliseconds (default 60 s). */
  readonly timeoutMs?: number;
}

const live = new Set<Child>();
const oneShots = new Set<ChildProcess>();

/**
 * Spawns `command args` and waits until `opts.ready` holds.
 *
 * @throws Error when the child exits first or is not ready within `timeoutMs` (it is killed).
 */
export async function spawnChild(name: string, command: string, args: string[], opts: SpawnOptions): Promise<Child> {
  const proc = spawn(command, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let stopping = false;
  let died: Child['died'];
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => {
    if (out.length < 1_000_000) out += s;
  });
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => {
    err = (err + s).slice(-4096);
  });
  proc.once('exit', (code, signal) => {
    if (!stopping) died = { code, signal };
  });
  if (proc.pid === undefined) throw new Error(`${name}: could not spawn ${command}`);
  const child: Child = {
    name,
    pid: proc.pid,
    proc,
    stdout: () => out,
    stderrTail: () => err,
    get died() {
      return died;
    },
    async stop(graceMs = 5000) {
      live.delete(child);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      stopping = true;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  live.add(child);
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (died) throw new Error(`${name} exited during start (${died.code ?? died.signal}): ${err.trim()}`);
    if (await opts.ready({ stdout: out, stderr: err })) return child;
    if (Date.now() > deadline) {
      await child.stop(1000);
      throw new Error(`${name} was not ready within ${opts.timeoutMs ?? 60_000} ms: ${err.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stops every child still running (used on exit and on failure). */
export async function stopAllChildren(): Promise<void> {
  for (const p of oneShots) p.kill('SIGKILL');
  await Promise.all([...live].map((c) => c.stop(2000)));
}

/** The children that died unexpectedly, as messages. */
export function deadChildren(children: Iterable<Child>): string[] {
  const out: string[] = [];
  for (const c of children) {
    if (c.died) out.push(`${c.name} (pid ${c.pid}) died: ${c.died.code ?? c.died.signal} ${c.stderrTail().trim()}`);
  }
  return out;
}

/** A free TCP port on 127.0.0.1 (bound then released; the caller binds it right away). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** The command that runs a bench TypeScript entry point as a child: `node --conditions=source --import tsx file`. */
export function tsNodeArgs(file: string, extraNodeArgs: string[] = []): string[] {
  return [...extraNodeArgs, '--conditions=source', '--import', 'tsx', file];
}

/**
 * Runs a one-shot child to completion (e.g. the seeder).
 *
 * @returns its stdout.
 * @throws Error with its stderr tail when it exits non-zero or outlives `timeoutMs`.
 */
export async function runChild(
  name: string,
  command: string,
  args: string[],
  opts: { cwd?: string; timeoutMs: number; onStderr?: (line: string) => void },
): Promise<string> {
  const proc = spawn(command, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  oneShots.add(proc);
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => {
    err = (err + s).slice(-4096);
    for (const line of s.split('\n')) if (line.trim()) opts.onStderr?.(line);
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs);
  const [code, signal] = (await new Promise((resolve) => proc.once('exit', (c, s) => resolve([c, s])))) as [
    number | null,
    string | null,
  ];
  clearTimeout(timer);
  oneShots.delete(proc);
  if (code !== 0) throw new Error(`${name} failed (${code ?? signal}): ${err.trim()}`);
  return out;
}
