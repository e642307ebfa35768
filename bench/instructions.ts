/**
 * `npm run bench:instructions`: instructions executed per request (valgrind callgrind), per OS thread,
 * for Latchkey `GET /v1/forward` (bearer key, SQLite, synchronous audit) and the bare Node proxy.
 * Instruction counts do not depend on what else the machine runs, where req/s on a drifting machine
 * does; they still vary a few percent run to run (GC and JIT timing, audit batch sizes). See
 * bench/README.md, "Instructions per request".
 *
 * Usage: npm run bench:instructions -- [lk|bare|both] [warm-up requests] [counted requests] [concurrency]
 * (defaults: both 6000 4000 8). `LATCHKEY_BENCH_CLI` runs another build's CLI (as for `npm run bench`).
 * Needs valgrind (`apt-get install -y valgrind`). Exits 1 on a non-200 answer or a failed start.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { freePort, spawnChild, stopAllChildren, tsNodeArgs, type Child } from './lib/child.js';
import { REPO_ROOT, createBenchGrant, startLatchkey } from './lib/latchkey.js';
import { forwardBearerRequest } from './variants/latchkey.js';
import type { Upstream } from './variants/types.js';
import { UPSTREAM_PATH, startUpstream } from './variants/baselines.js';

/** A server under callgrind and the one request sent to it. */
interface Target {
  readonly child: Child;
  readonly origin: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  /** Removes what the target left on disk once it is stopped. */
  readonly cleanup?: () => void;
}

const [which = 'both', warmArg = '6000', countArg = '4000', concArg = '8'] = process.argv.slice(2);
const WARM = Number(warmArg);
const COUNT = Number(countArg);
const CONCURRENCY = Number(concArg);
if (!['lk', 'bare', 'both'].includes(which) || ![WARM, COUNT, CONCURRENCY].every((n) => Number.isInteger(n) && n > 0)) {
  console.error('usage: npm run bench:instructions -- [lk|bare|both] [warm-up] [counted] [concurrency]');
  process.exit(2);
}
/** Threads that run fewer instructions per request than this are left out of the listing. */
const MIN_LISTED = 500;

/** Sends `n` requests over `CONCURRENCY` keep-alive connections; throws on any non-200. */
async function drive(t: Target, n: number): Promise<void> {
  const pool = new Pool(t.origin, { connections: CONCURRENCY, pipelining: 1 });
  let left = n;
  let bad = 0;
  const lane = async () => {
    while (left-- > 0) {
      const res = await pool.request({ method: 'GET', path: t.path, headers: t.headers });
      await res.body.arrayBuffer();
      if (res.statusCode !== 200) bad++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  await pool.close();
  if (bad) throw new Error(`${bad} of ${n} requests were not answered 200`);
}

/** Callgrind's options: one output file per thread, no per-instruction data. */
const callgrindArgs = (out: string) => [
  '--tool=callgrind',
  '--separate-threads=yes',
  '--dump-instr=no',
  `--callgrind-out-file=${out}`,
];

/**
 * Warms the server up, zeroes callgrind's counters, sends the counted requests, dumps, and prints
 * instructions per counted request: the total and each thread's (`t01` is the event loop).
 *
 * @throws Error when the server does not start, answers other than 200, or callgrind writes no dump.
 */
async function count(name: string, start: (out: string) => Promise<Target>): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lk-callgrind-'));
  let t: Target | undefined;
  try {
    t = await start(path.join(dir, 'cg.%p'));
    await drive(t, WARM);
    execFileSync('callgrind_control', ['--zero', String(t.child.pid)], { stdio: 'ignore' });
    await drive(t, COUNT);
    execFileSync('callgrind_control', ['--dump', String(t.child.pid)], { stdio: 'ignore' });
    // The dump is written by the target itself; its files are complete once each has its totals.
    const perThread: [string, number][] = [];
    for (let tries = 0; tries < 50 && perThread.length === 0; tries++) {
      await new Promise((r) => setTimeout(r, 200));
      for (const f of readdirSync(dir)) {
        const m = /^cg\.\d+\.1-(\d+)$/.exec(f);
        const total = m && /^(?:summary|totals): (\d+)$/m.exec(readFileSync(path.join(dir, f), 'utf8'));
        if (m && total) perThread.push([`t${m[1]}`, Number(total[1]) / COUNT]);
      }
    }
    if (perThread.length === 0) throw new Error(`${name}: callgrind wrote no dump`);
    perThread.sort(([a], [b]) => (a < b ? -1 : 1));
    const total = perThread.reduce((s, [, v]) => s + v, 0);
    const listed = perThread.filter(([, v]) => v >= MIN_LISTED).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}k`);
    console.log(`${name}: ${(total / 1000).toFixed(1)}k instructions per request (${listed.join(', ')})`);
  } finally {
    await t?.child.stop();
    t?.cleanup?.();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Latchkey under callgrind (through `startLatchkey`), with the bench's bearer secret and grant. */
async function latchkey(up: Upstream, out: string): Promise<Target> {
  const lk = await startLatchkey({
    name: 'latchkey',
    wrapper: ['valgrind', ...callgrindArgs(out)],
    readyTimeoutMs: 300_000,
  });
  const cleanup = () => rmSync(lk.dataDir, { recursive: true, force: true });
  if (!lk.init) {
    await lk.child.stop();
    cleanup();
    throw new Error('latchkey printed no first-start credentials');
  }
  const { grantId } = await createBenchGrant(lk, up.port);
  const req = forwardBearerRequest(lk.init.appKey, up, grantId);
  return { child: lk.child, origin: lk.origin, path: req.path, headers: req.headers, cleanup };
}

/** The bare Node proxy (`bench/bare-proxy.ts`) under callgrind. */
async function bare(upstreamOrigin: string, out: string): Promise<Target> {
  const port = await freePort();
  const script = tsNodeArgs(path.join(REPO_ROOT, 'bench', 'bare-proxy.ts'));
  const child = await spawnChild(
    'bare-proxy',
    'valgrind',
    [...callgrindArgs(out), process.execPath, ...script, String(port), upstreamOrigin],
    { cwd: REPO_ROOT, timeoutMs: 300_000, ready: ({ stdout }) => /^LISTENING \d+$/m.test(stdout) },
  );
  const grantId = /^GRANTS ([^,\n]+)/m.exec(child.stdout())?.[1] ?? '';
  return { child, origin: `http://127.0.0.1:${port}`, path: UPSTREAM_PATH, headers: { 'latchkey-grant-id': grantId } };
}

const up = await startUpstream();
try {
  if (which !== 'bare') await count('latchkey forward', (out) => latchkey(up, out));
  if (which !== 'lk') await count('bare proxy', (out) => bare(up.origin, out));
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
} finally {
  await stopAllChildren();
}
