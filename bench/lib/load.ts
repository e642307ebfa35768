/**
 * One load run and what the processes under test spent on it, with the run's load generator: wrk
 * when installed (`wrk.ts`), else autocannon (programmatic, in this process). With autocannon,
 * latency is recorded per response from its own hrtime measurement with microsecond resolution (its
 * built-in histogram rounds to whole milliseconds, too coarse here).
 */
import autocannon, { type AutocannonRequest, type AutocannonResult } from 'autocannon';
import { loopFigures, mainThreadSched, totalCpuSeconds, type LoopFigures } from './proc.js';
import { quantileSorted, Samples } from './stats.js';
import { runWrk } from './wrk.js';

/** The load generator of a run: every measured run of one bench uses the same. */
export type LoadGenerator = { readonly kind: 'wrk'; readonly bin: string } | { readonly kind: 'autocannon' };

let generator: LoadGenerator = { kind: 'autocannon' };

/** Selects the load generator of every later {@link runLoad} (autocannon until called). */
export function useLoadGenerator(g: LoadGenerator): void {
  generator = g;
}

/**
 * What to send. `setup` (optional) returns extra headers computed fresh for every request (with wrk,
 * called beforehand once per request to be sent, each result sent once).
 */
export interface LoadRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly setup?: () => Record<string, string>;
  /**
   * Seconds for which what `setup` returns stays valid after it is made (a signature's `expires`).
   * wrk sends requests made before its run: a run that could outlast this is refused up front.
   */
  readonly validForS?: number;
}

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** Base URL of the server under test, e.g. `http://127.0.0.1:7070`. */
  readonly origin: string;
  readonly request: LoadRequest;
  readonly connections: number;
  /** Seconds. */
  readonly durationS: number;
  /** Processes whose CPU is charged to the server under test (nginx: master + workers). */
  readonly serverPids: () => number[];
  /** The upstream process (its CPU is reported separately). */
  readonly upstreamPid: number;
  /** A single-process Node server: its main thread (the event loop) is measured on its own. */
  readonly loopPid?: number | undefined;
}

/** The outcome of one run; the event-loop figures are NaN for servers without one ({@link LoadOptions.loopPid}). */
export interface Measurement extends LoopFigures {
  /** 2xx responses per second of wall time. */
  readonly rps: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly responses: number;
  /** CPU of the server under test per 2xx response, µs (utime + stime from /proc). */
  readonly cpuUsPerReq: number;
  /** CPU of the upstream per 2xx response, µs. */
  readonly upstreamCpuUsPerReq: number;
  /** CPU of the load generator (this process for autocannon, the wrk process) as a share of one core, %. */
  readonly loadgenCpuPct: number;
  /** Problems that make the run invalid: non-2xx, errors, timeouts, resets, mismatches. */
  readonly problems: string[];
}

function toAutocannonRequest(r: LoadRequest): AutocannonRequest {
  const base: AutocannonRequest = { method: r.method, path: r.path, headers: { ...r.headers } };
  if (r.body !== undefined) base.body = r.body;
  const setup = r.setup;
  if (setup) base.setupRequest = (req) => ({ ...req, headers: { ...r.headers, ...setup() } });
  return base;
}

/**
 * Runs `connections` keep-alive connections for `durationS` seconds with the selected load
 * generator ({@link useLoadGenerator}) and measures.
 *
 * @returns the measurement; `problems` is non-empty when the run is invalid.
 * @throws Error when wrk cannot run or prints no result.
 */
export async function runLoad(opts: LoadOptions): Promise<Measurement> {
  return generator.kind === 'wrk' ? runWrk(generator.bin, opts) : runAutocannon(opts);
}

/** {@link runLoad} with autocannon, in this process. */
async function runAutocannon(opts: LoadOptions): Promise<Measurement> {
  const samples = new Samples();
  const statuses = new Map<number, number>();
  const pids = opts.serverPids();
  const cpu0 = totalCpuSeconds(pids);
  const up0 = totalCpuSeconds([opts.upstreamPid]);
  const self0 = process.cpuUsage();
  const loop0 = opts.loopPid === undefined ? undefined : mainThreadSched(opts.loopPid);
  const t0 = process.hrtime.bigint();
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: opts.origin,
        connections: opts.connections,
        duration: opts.durationS,
        pipelining: 1,
        timeout: 10,
        requests: [toAutocannonRequest(opts.request)],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
      statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
      if (statusCode >= 200 && statusCode < 300) samples.push(responseTimeMs);
    });
  });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const loop1 = opts.loopPid === undefined ? undefined : mainThreadSched(opts.loopPid);
  const self = process.cpuUsage(self0);
  const cpu = totalCpuSeconds(pids) - cpu0;
  const up = totalCpuSeconds([opts.upstreamPid]) - up0;
  const ok = samples.length;
  const sorted = samples.sorted();
  const problems: string[] = [];
  const bad = [...statuses].filter(([s]) => s < 200 || s >= 300);
  if (bad.length) problems.push(`non-2xx responses: ${bad.map(([s, n]) => `${n}×${s}`).join(', ')}`);
  if (result.errors) problems.push(`${result.errors} connection errors`);
  if (result.timeouts) problems.push(`${result.timeouts} timeouts`);
  if (result.resets) problems.push(`${result.resets} resets`);
  if (result.mismatches) problems.push(`${result.mismatches} mismatches`);
  if (ok === 0) problems.push('no 2xx response');
  return {
    rps: ok / wallS,
    p50Ms: quantileSorted(sorted, 0.5),
    p90Ms: quantileSorted(sorted, 0.9),
    p99Ms: quantileSorted(sorted, 0.99),
    responses: ok,
    cpuUsPerReq: ok ? (cpu * 1e6) / ok : Number.NaN,
    upstreamCpuUsPerReq: ok ? (up * 1e6) / ok : Number.NaN,
    loadgenCpuPct: ((self.user + self.system) / 1e6 / wallS) * 100,
    ...loopFigures(loop0, loop1, wallS, ok),
    problems,
  };
}
