/**
 * One load run with wrk (a C load generator from Debian's packages, used when installed): far less
 * CPU per request than autocannon, so on two cores the servers under test keep more of the machine.
 * A Lua script counts every response by status, reads wrk's own CPU from /proc/self/stat, and prints
 * one JSON line at the end. Requests whose headers change per request (a fresh RFC 9421 signature, a
 * random grant id) are generated beforehand into a file, each used once.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LoadOptions, LoadRequest, Measurement } from './load.js';
import { ticksPerSecond, totalCpuSeconds } from './proc.js';

/** Requests per second assumed before a request has been measured once (sizes pre-generated files). */
const FIRST_RATE_CAP = 60_000;
/** Marker of the result line the script prints. */
const RESULT_MARK = '@@latchkey-bench ';

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

/** A Lua string literal holding `s` exactly (bytes outside printable ASCII as decimal escapes). */
export function luaString(s: string): string {
  let out = '"';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\${b}`;
  }
  return `${out}"`;
}

// Globals `base_headers` and `extra_file` are set by the generated prologue. Each thread keeps the
// lines of the request file whose index modulo the thread count is its own, formats them once in
// init, and sends each once; running out is reported (`exhausted`) and makes the run invalid.
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
  local stride = tonumber(args[1])
  if extra_file ~= nil then
    reqs = {}
    count = 0
    idx = 0
    local k = 0
    for line in io.lines(extra_file) do
      if k % stride == tid then
        local h = {}
        for name, value in pairs(base_headers) do h[name] = value end
        for pair in string.gmatch(line, "[^\\t]+") do
          local c = string.find(pair, ": ", 1, true)
          h[string.sub(pair, 1, c - 1)] = string.sub(pair, c + 2)
        end
        count = count + 1
        reqs[count] = wrk.format(nil, nil, h)
      end
      k = k + 1
    end
    request = function()
      idx = idx + 1
      if idx > count then
        idx = 1
        exhausted = exhausted + 1
      end
      return reqs[idx]
    end
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
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
  io.write(string.format(
    '${RESULT_MARK}{"durationUs":%d,"requests":%d,"statuses":{%s},"connect":%d,"read":%d,"write":%d,' ..
      '"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"cpuTicks":%d,"exhausted":%d}\\n',
    summary.duration, summary.requests, table.concat(parts, ","), e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), ticks, exhaustedAll))
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
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly cpuTicks: number;
  readonly exhausted: number;
}

/** Highest 2xx rate seen per request (sizes the next pre-generated file for it). */
const seenRate = new WeakMap<LoadRequest, number>();

/** The Lua prologue: the base request (method, path, headers, body) and the per-request file. */
function prologue(r: LoadRequest, extraFile: string | undefined): string {
  const lines = [`wrk.method = ${luaString(r.method)}`, `wrk.path = ${luaString(r.path)}`];
  for (const [k, v] of Object.entries(r.headers)) lines.push(`wrk.headers[${luaString(k)}] = ${luaString(v)}`);
  if (r.body !== undefined) lines.push(`wrk.body = ${luaString(r.body)}`);
  lines.push('base_headers = {}', 'for k, v in pairs(wrk.headers) do base_headers[k] = v end');
  lines.push(`extra_file = ${extraFile === undefined ? 'nil' : luaString(extraFile)}`);
  return `${lines.join('\n')}\n`;
}

/** One line of the request file: the headers of one request, `name: value` pairs joined by tabs. */
function extraLine(h: Record<string, string>): string {
  const pairs = Object.entries(h).map(([k, v]) => {
    if (/[\t\r\n]/.test(k + v)) throw new Error(`header ${k} holds a tab or line break; wrk cannot send it`);
    return `${k}: ${v}`;
  });
  return pairs.join('\t');
}

/**
 * Runs wrk with `connections` keep-alive connections for `durationS` seconds and measures, like
 * `runLoad` with autocannon: 2xx rate, latency percentiles (wrk's histogram, µs resolution), CPU of
 * the processes under test from /proc, and wrk's own CPU.
 *
 * @param bin the wrk executable.
 * @returns the measurement; `problems` is non-empty when the run is invalid.
 * @throws Error when wrk cannot run or prints no result.
 */
export async function runWrk(bin: string, opts: LoadOptions): Promise<Measurement> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lk-wrk-'));
  try {
    const r = opts.request;
    let extraFile: string | undefined;
    let generated = 0;
    if (r.setup) {
      // Each pre-generated request is sent once: size for twice the best rate seen, plus a second.
      const rate = 2 * (seenRate.get(r) ?? FIRST_RATE_CAP / 2);
      generated = Math.ceil(rate * (opts.durationS + 1));
      const lines = new Array<string>(generated);
      for (let i = 0; i < generated; i++) lines[i] = extraLine(r.setup());
      extraFile = path.join(dir, 'requests.txt');
      writeFileSync(extraFile, `${lines.join('\n')}\n`);
    }
    const script = path.join(dir, 'load.lua');
    writeFileSync(script, prologue(r, extraFile) + SCRIPT);
    const threads = opts.connections >= 2 ? 2 : 1;
    const args = [
      `-t${threads}`,
      `-c${opts.connections}`,
      `-d${opts.durationS}s`,
      '--timeout',
      '10s',
      '-s',
      script,
      `${opts.origin}${r.path}`,
      '--',
      String(threads),
    ];
    const pids = opts.serverPids();
    const cpu0 = totalCpuSeconds(pids);
    const up0 = totalCpuSeconds([opts.upstreamPid]);
    const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>(
      (resolve, reject) => {
        const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
    const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARK));
    if (code !== 0 || !line) {
      throw new Error(`wrk exited with ${code}: ${(stderr || stdout).trim().slice(-500)}`);
    }
    const w = JSON.parse(line.slice(RESULT_MARK.length)) as WrkResult;
    const wallS = w.durationUs / 1e6;
    let ok = 0;
    const bad: string[] = [];
    for (const [s, n] of Object.entries(w.statuses)) {
      if (Number(s) >= 200 && Number(s) < 300) ok += n;
      else bad.push(`${n}×${s}`);
    }
    const problems: string[] = [];
    if (bad.length) problems.push(`non-2xx responses: ${bad.join(', ')}`);
    const errors = w.connect + w.read + w.write;
    if (errors) problems.push(`${errors} socket errors (connect ${w.connect}, read ${w.read}, write ${w.write})`);
    if (w.timeout) problems.push(`${w.timeout} timeouts`);
    if (w.exhausted) problems.push(`the ${generated} pre-generated requests ran out (${w.exhausted} reused)`);
    if (ok === 0) problems.push('no 2xx response');
    const rps = ok / wallS;
    seenRate.set(r, Math.max(seenRate.get(r) ?? 0, rps));
    return {
      rps,
      p50Ms: w.p50 / 1000,
      p90Ms: w.p90 / 1000,
      p99Ms: w.p99 / 1000,
      responses: ok,
      cpuUsPerReq: ok ? (cpu * 1e6) / ok : Number.NaN,
      upstreamCpuUsPerReq: ok ? (up * 1e6) / ok : Number.NaN,
      loadgenCpuPct: (w.cpuTicks / ticksPerSecond() / wallS) * 100,
      problems,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
