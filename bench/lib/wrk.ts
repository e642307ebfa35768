/**
 * One load run with wrk (a C load generator from Debian's packages, used when installed): far less
 * CPU per request than autocannon, so on two cores the servers under test keep more of the machine.
 * A Lua script counts every response by status, reads wrk's own CPU from /proc/self/stat, and prints
 * one JSON line at the end. Requests whose headers change per request (a fresh RFC 9421 signature, a
 * random grant id) are generated beforehand into a file, each used once.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LoadOptions, LoadRequest, Measurement } from './load.js';
import { loopFigures, mainThreadSched, ticksPerSecond, totalCpuSeconds } from './proc.js';

/** Requests per second assumed before a request has been measured once (sizes pre-generated files). */
const FIRST_RATE_CAP = 60_000;
/**
 * Seconds allowed, when a run is planned, for making its requests beforehand and starting wrk: a run
 * is refused up front unless it ends this long before `validForS`. Making them takes longer for
 * longer runs, so {@link runWrk} also checks the actual time just before it starts wrk.
 */
const SETUP_MARGIN_S = 10;
/** Marker of the result line the script prints. */
const RESULT_MARK = '@@latchkey-bench ';

/** wrk processes running now (stopped by {@link stopWrk} when the bench is interrupted). */
const running = new Set<ChildProcess>();

/** Stops every wrk process still running (the bench's interrupt handler). */
export function stopWrk(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** The path of `wrk` when it is on PATH, else undefined. */
export function findWrk(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' });
  const p = r.status === 0 ? r.stdout.trim() : '';
  return p || undefined;
}

/** wrk's version line (`wrk 4.1.0 …`), or 'unknown'. */
export function wrkVersion(bin: string): string {
  // `wrk -v` prints its version and usage, and exits non-zero.
  const r = spawnSync(bin, ['-v'], { encoding: 'utf8' });
  return /wrk\s+\S+/.exec(`${r.stdout}${r.stderr}`)?.[0] ?? 'unknown';
}

/** A Lua string literal holding `s` exactly (bytes outside printable ASCII as 3-digit decimal escapes). */
export function luaString(s: string): string {
  let out = '"';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    // Zero-padded: Lua reads up to three digits, so `\n1` must not become `\101`.
    else out += `\\${String(b).padStart(3, '0')}`;
  }
  return `${out}"`;
}

// Globals `req_files` (one file of pre-formatted requests per thread, or nil) and `connections` are
// set by the generated prologue. wrk starts each thread before it initializes the next one, so a
// thread's init must be quick: its file holds finished requests separated by NUL bytes, read in one
// call. Each request is sent once; running out is counted (`exhausted`) and makes the run invalid.
//
// wrk 4.x "corrects" its latency histogram for coordinated omission before calling done(): for
// every sample at n >= 2e (e = runtime / (responses / connections)) it adds samples at n - e,
// n - 2e, ... down to e. The bench compares raw per-response latency (what autocannon reported, and
// what the targets mean), so done() undoes it: raw[v] = C[v] - C[v + e] for v > e, else C[v].
const SCRIPT = `
local threads = {}
local nthreads = 0
function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads - 1)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  exhausted = 0
  if req_files ~= nil then
    local f = assert(io.open(req_files[tid + 1], "rb"))
    local data = f:read("*a")
    f:close()
    reqs = {}
    count = 0
    local pos = 1
    while true do
      local z = string.find(data, "\0", pos, true)
      if z == nil then break end
      count = count + 1
      reqs[count] = string.sub(data, pos, z - 1)
      pos = z + 1
    end
    idx = 0
    request = function()
      idx = idx + 1
      if idx > count then
        exhausted = exhausted + 1
        return reqs[(idx - 1) % count + 1]
      end
      return reqs[idx]
    end
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

-- The histogram itself (wrk 4's \`stats\` struct: count, limit, min, max, then one counter per µs):
-- \`latency(i)\` rescans from the start on every call, too slow for a full walk.
local ffi = require("ffi")
ffi.cdef[[ typedef struct { uint64_t count; uint64_t limit; uint64_t min; uint64_t max; uint64_t data[?]; } lk_wrk_stats; ]]

local function raw_percentiles(latency, summary)
  local s = ffi.cast("lk_wrk_stats**", latency)[0]
  local lo, hi = tonumber(s.min), tonumber(s.max)
  local per_conn = math.floor(summary.requests / connections)
  local e = per_conn > 0 and math.floor(summary.duration / per_conn) or hi + 1
  local raw, total = {}, 0
  for v = lo, hi do
    local c = tonumber(s.data[v])
    if v > e and v + e <= hi then c = c - tonumber(s.data[v + e]) end
    raw[v - lo + 1] = c
    total = total + c
  end
  local function pct(p)
    local rank = math.floor(p / 100 * total + 1)
    local acc = 0
    for v = lo, hi do
      acc = acc + raw[v - lo + 1]
      if acc >= rank then return v end
    end
    return 0
  end
  return pct(50), pct(90), pct(99), total
end

function done(summary, latency, requests)
  local f = io.open("/proc/self/stat", "r")
  local stat = f:read("*l")
  f:close()
  local rest = string.sub(stat, string.find(stat, ")", 1, true) + 2)
  local fields = {}
  for x in string.gmatch(rest, "%S+") do fields[#fields + 1] = x end
  local ticks = tonumber(fields[12]) + tonumber(fields[13])
  local st = {}
  local exhaustedAll = 0
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do st[code] = (st[code] or 0) + n end
    exhaustedAll = exhaustedAll + t:get("exhausted")
  end
  local parts = {}
  for code, n in pairs(st) do parts[#parts + 1] = string.format('"%d":%d', code, n) end
  local e = summary.errors
  local p50, p90, p99, samples = raw_percentiles(latency, summary)
  io.write(string.format(
    '${RESULT_MARK}{"durationUs":%d,"requests":%d,"statuses":{%s},"connect":%d,"read":%d,"write":%d,' ..
      '"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"samples":%d,"cpuTicks":%d,"exhausted":%d}\\n',
    summary.duration, summary.requests, table.concat(parts, ","), e.connect, e.read, e.write, e.status,
    e.timeout, p50, p90, p99, samples, ticks, exhaustedAll))
end
`;

/** What the script prints. */
interface WrkResult {
  readonly durationUs: number;
  readonly requests: number;
  readonly statuses: Record<string, number>;
  readonly connect: number;
  readonly read: number;
  readonly write: number;
  readonly status: number;
  readonly timeout: number;
  /** Raw latency percentiles, µs (wrk's coordinated-omission correction undone). */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  /** Latency samples after undoing the correction: one per response when the undoing is right. */
  readonly samples: number;
  readonly cpuTicks: number;
  readonly exhausted: number;
}

/** Highest 2xx rate seen per request and connection count (sizes the next pre-generated files). */
const seenRate = new WeakMap<LoadRequest, Map<number, number>>();
/**
 * Highest 2xx rate seen per connection count by any pre-generated request without a validity limit
 * (the scale section's random grant ids): a floor for sizing each of them. Their own first rate can
 * be far below a later one (a database read from a cold disk right after seeding, then cached), and
 * twice that rate ran out in a later round; such requests cost little to make in excess.
 */
const seenRateUnlimited = new Map<number, number>();

/** The Lua prologue: the base request (method, path, headers, body) and the per-thread request files. */
function prologue(r: LoadRequest, connections: number, files: readonly string[] | undefined): string {
  const lines = [`wrk.method = ${luaString(r.method)}`, `wrk.path = ${luaString(r.path)}`];
  for (const [k, v] of Object.entries(r.headers)) lines.push(`wrk.headers[${luaString(k)}] = ${luaString(v)}`);
  if (r.body !== undefined) lines.push(`wrk.body = ${luaString(r.body)}`);
  lines.push(`connections = ${connections}`);
  lines.push(`req_files = ${files === undefined ? 'nil' : `{ ${files.map(luaString).join(', ')} }`}`);
  return `${lines.join('\n')}\n`;
}

/**
 * One HTTP/1.1 request as wrk would format it (`wrk.format`): request line, Host, the base headers,
 * the per-request ones, Content-Length when there is a body, a blank line, the body.
 *
 * @throws Error when a header holds a line break or NUL (it would split the request or the file).
 */
export function formatRequest(r: LoadRequest, host: string, extra: Readonly<Record<string, string>>): string {
  const headers = { ...r.headers, ...extra };
  const lines = [`${r.method} ${r.path} HTTP/1.1`, `Host: ${host}`];
  for (const [k, v] of Object.entries(headers)) {
    if (/[\r\n\0]/.test(k + v)) throw new Error(`header ${k} holds a line break or NUL; it cannot be sent as is`);
    lines.push(`${k}: ${v}`);
  }
  if (r.body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(r.body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${r.body ?? ''}`;
}

/** The whole seconds wrk runs for a requested duration (rounded, at least 1). */
export function wrkRunSeconds(durationS: number): number {
  return Math.max(1, Math.round(durationS));
}

/**
 * The longest wrk run, in whole seconds, that can send requests made beforehand which stay valid for
 * `validForS` seconds once made (see `LoadRequest.validForS`), allowing {@link SETUP_MARGIN_S} for
 * making them.
 */
export function maxPremadeRunS(validForS: number): number {
  return Math.floor(validForS - SETUP_MARGIN_S);
}

/**
 * Runs wrk with `connections` keep-alive connections for `durationS` seconds (rounded to whole
 * seconds, at least 1) and measures, like `runLoad` with autocannon: 2xx rate over wrk's measured
 * window, raw latency percentiles (µs resolution), CPU of the processes under test from /proc, and
 * wrk's own CPU.
 *
 * @param bin the wrk executable.
 * @returns the measurement; `problems` is non-empty when the run is invalid.
 * @throws Error when wrk cannot run or prints no result; when the request's pre-made headers
 *   (`validForS`) would expire before the run ends, checked before they are made and again just
 *   before wrk starts.
 */
export async function runWrk(bin: string, opts: LoadOptions): Promise<Measurement> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lk-wrk-'));
  try {
    const r = opts.request;
    const threads = opts.connections >= 2 ? 2 : 1;
    const durationS = wrkRunSeconds(opts.durationS);
    let files: string[] | undefined;
    let generated = 0;
    /** When the first pre-made request was made (Unix seconds). */
    let madeAtS = 0;
    if (r.setup && r.validForS !== undefined && durationS > maxPremadeRunS(r.validForS)) {
      // Requests sent near the end of the run would have expired: it would fail on non-2xx answers
      // part-way through, after its time was spent. Refused before anything is made.
      throw new Error(
        `a ${durationS} s wrk run cannot send requests made beforehand that are valid for ${r.validForS} s ` +
          `(at most ${maxPremadeRunS(r.validForS)} s; use --load autocannon, which makes them as it sends)`,
      );
    }
    if (r.setup) {
      // Each pre-generated request is sent once: size for twice the best rate seen at this many
      // connections (else at any: the warm-up runs at 50 before the 1-connection run), plus a second.
      const seen = seenRate.get(r);
      const own = seen?.get(opts.connections) ?? (seen?.size ? Math.max(...seen.values()) : FIRST_RATE_CAP / 2);
      // Requests without a validity limit: at least the best rate any of them reached at this many.
      const best = r.validForS === undefined ? Math.max(own, seenRateUnlimited.get(opts.connections) ?? 0) : own;
      const rate = 2 * best;
      const perThread = Math.ceil((rate * (durationS + 1)) / threads);
      generated = perThread * threads;
      const host = new URL(opts.origin).host;
      madeAtS = Date.now() / 1000;
      files = [];
      for (let t = 0; t < threads; t++) {
        const reqs = new Array<string>(perThread);
        for (let i = 0; i < perThread; i++) reqs[i] = formatRequest(r, host, r.setup());
        const file = path.join(dir, `requests-${t}.bin`);
        writeFileSync(file, `${reqs.join('\0')}\0`);
        files.push(file);
      }
    }
    if (files && r.validForS !== undefined) {
      // Making them took long (a long run at a high rate): the first one made expires at the latest
      // `validForS` after it was made, less a second (a signature's `created` is whole seconds); the
      // run, started within a second, must end before that.
      const lateS = Date.now() / 1000 + 1 + durationS - (madeAtS + r.validForS - 1);
      if (lateS > 0)
        throw new Error(
          `the requests made for this ${durationS} s wrk run would expire ${lateS.toFixed(1)} s before it ends ` +
            `(valid ${r.validForS} s; making them took ${(Date.now() / 1000 - madeAtS).toFixed(1)} s): run shorter`,
        );
    }
    const script = path.join(dir, 'load.lua');
    writeFileSync(script, prologue(r, opts.connections, files) + SCRIPT);
    const args = [
      `-t${threads}`,
      `-c${opts.connections}`,
      `-d${durationS}s`,
      '--timeout',
      '10s',
      '-s',
      script,
      `${opts.origin}${r.path}`,
    ];
    const pids = opts.serverPids();
    const cpu0 = totalCpuSeconds(pids);
    const up0 = totalCpuSeconds([opts.upstreamPid]);
    const loop0 = opts.loopPid === undefined ? undefined : mainThreadSched(opts.loopPid);
    const t0 = process.hrtime.bigint();
    const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>(
      (resolve, reject) => {
        const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        running.add(child);
        child.once('exit', () => running.delete(child));
        let out = '';
        let err = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
        child.on('error', reject);
        child.on('close', (c) => resolve({ stdout: out, stderr: err, code: c }));
      },
    );
    const cpu = totalCpuSeconds(pids) - cpu0;
    const up = totalCpuSeconds([opts.upstreamPid]) - up0;
    // Over the same window as the CPU figures (wrk's whole life), not wrk's own measured duration.
    const loopWindowS = Number(process.hrtime.bigint() - t0) / 1e9;
    const loop1 = opts.loopPid === undefined ? undefined : mainThreadSched(opts.loopPid);
    const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARK));
    if (code !== 0 || !line) {
      throw new Error(`wrk exited with ${code}: ${(stderr || stdout).trim().slice(-500)}`);
    }
    const w = JSON.parse(line.slice(RESULT_MARK.length)) as WrkResult;
    const wallS = w.durationUs / 1e6;
    let ok = 0;
    let counted = 0;
    const bad: string[] = [];
    for (const [s, n] of Object.entries(w.statuses)) {
      counted += n;
      if (Number(s) >= 200 && Number(s) < 300) ok += n;
      else bad.push(`${n}×${s}`);
    }
    const problems: string[] = [];
    if (bad.length) problems.push(`non-2xx responses: ${bad.join(', ')}`);
    if (counted !== w.requests) problems.push(`wrk completed ${w.requests} responses, the script counted ${counted}`);
    // Every response leaves one latency sample, except those past the timeout (counted as timeouts).
    if (w.samples + w.timeout !== w.requests) {
      problems.push(`${w.samples} latency samples after undoing wrk's correction, for ${w.requests} responses`);
    }
    const errors = w.connect + w.read + w.write;
    if (errors) problems.push(`${errors} socket errors (connect ${w.connect}, read ${w.read}, write ${w.write})`);
    if (w.timeout) problems.push(`${w.timeout} timeouts`);
    if (w.exhausted) problems.push(`the ${generated} pre-generated requests ran out (${w.exhausted} sent again)`);
    if (ok === 0) problems.push('no 2xx response');
    const rps = ok / wallS;
    const rates = seenRate.get(r) ?? new Map<number, number>();
    rates.set(opts.connections, Math.max(rates.get(opts.connections) ?? 0, rps));
    seenRate.set(r, rates);
    if (r.setup && r.validForS === undefined) {
      seenRateUnlimited.set(opts.connections, Math.max(seenRateUnlimited.get(opts.connections) ?? 0, rps));
    }
    return {
      rps,
      p50Ms: w.p50 / 1000,
      p90Ms: w.p90 / 1000,
      p99Ms: w.p99 / 1000,
      responses: ok,
      cpuUsPerReq: ok ? (cpu * 1e6) / ok : Number.NaN,
      upstreamCpuUsPerReq: ok ? (up * 1e6) / ok : Number.NaN,
      loadgenCpuPct: (w.cpuTicks / ticksPerSecond() / wallS) * 100,
      ...loopFigures(loop0, loop1, loopWindowS, ok),
      problems,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
