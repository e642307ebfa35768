/**
 * The main comparison: every variant against the same upstream, at 1 and 50 connections, in rounds
 * whose variant order is shuffled each time; medians per variant and load shape.
 */
import { deadChildren } from './child.js';
import { runLoad, type LoadRequest, type Measurement } from './load.js';
import { totalPeakRssMb } from './proc.js';
import { median, shuffled } from './stats.js';
import type { Upstream, Unavailable, Variant, VariantName } from '../variants/types.js';

/** The two load shapes: latency (1 connection) and throughput (50 connections). */
export const SHAPES = [1, 50] as const;
/** A load shape (number of connections). */
export type Shape = (typeof SHAPES)[number];

/** Medians over rounds of one variant at one shape. */
export interface Summary {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerReq: number;
  readonly upstreamCpuUsPerReq: number;
  readonly loadgenCpuPct: number;
  /** Event-loop CPU per request, µs, and shares of wall time on a core / runnable but waiting (NaN: not measured). */
  readonly loopCpuUsPerReq: number;
  readonly loopOnCpuPct: number;
  readonly loopWaitPct: number;
  readonly runs: number;
}

/** Everything measured for one variant. */
export interface VariantResult {
  readonly name: VariantName;
  readonly description: string;
  readonly available: boolean;
  readonly reason?: string;
  /** Per shape (`"1"`, `"50"`), the runs in round order. */
  readonly runs: Record<string, Measurement[]>;
  readonly summary: Record<string, Summary>;
  /** Peak RSS (VmHWM) of the variant's processes at the end, MB. */
  readonly peakRssMb: number;
}

/** Summarizes runs by the median of each metric. */
export function summarize(runs: readonly Measurement[]): Summary {
  const m = (f: (x: Measurement) => number) => median(runs.map(f));
  return {
    rps: m((x) => x.rps),
    p50Ms: m((x) => x.p50Ms),
    p90Ms: m((x) => x.p90Ms),
    p99Ms: m((x) => x.p99Ms),
    cpuUsPerReq: m((x) => x.cpuUsPerReq),
    upstreamCpuUsPerReq: m((x) => x.upstreamCpuUsPerReq),
    loadgenCpuPct: m((x) => x.loadgenCpuPct),
    loopCpuUsPerReq: m((x) => x.loopCpuUsPerReq),
    loopOnCpuPct: m((x) => x.loopOnCpuPct),
    loopWaitPct: m((x) => x.loopWaitPct),
    runs: runs.length,
  };
}

/** Something under load: where to send what, and whose CPU it costs. */
export interface Target {
  readonly label: string;
  readonly origin: string;
  readonly request: LoadRequest;
  serverPids(): number[];
  /** See {@link Variant.loopPid}. */
  readonly loopPid?: number;
  readonly children: Variant['children'];
}

/** Settings of one measured run. */
export interface RunSettings {
  readonly upstream: Upstream;
  readonly connections: number;
  readonly durationS: number;
  readonly warmupS: number;
  /** Collects reasons that make the whole bench invalid. */
  readonly problems: string[];
  readonly log: (msg: string) => void;
}

/**
 * Warms up (50 connections, `warmupS`), then measures `connections` for `durationS`. A run with
 * non-2xx answers, errors or a dead process adds to `problems`.
 *
 * @returns the measurement, or undefined when a process under test is dead.
 */
export async function measure(t: Target, s: RunSettings): Promise<Measurement | undefined> {
  const all = [...t.children, s.upstream.child];
  const dead = deadChildren(all);
  if (dead.length) {
    s.problems.push(...dead.map((d) => `${t.label}: ${d}`));
    return undefined;
  }
  const base = {
    origin: t.origin,
    request: t.request,
    serverPids: t.serverPids,
    upstreamPid: s.upstream.child.pid,
    loopPid: t.loopPid,
  };
  if (s.warmupS > 0) {
    const w = await runLoad({ ...base, connections: 50, durationS: s.warmupS });
    for (const p of w.problems) s.problems.push(`${t.label} warm-up: ${p}`);
  }
  const m = await runLoad({ ...base, connections: s.connections, durationS: s.durationS });
  for (const p of m.problems) s.problems.push(`${t.label} @${s.connections}c: ${p}`);
  for (const d of deadChildren(all)) s.problems.push(`${t.label}: ${d}`);
  s.log(
    `  ${t.label.padEnd(22)} ${String(s.connections).padStart(2)}c ${m.rps.toFixed(0).padStart(6)} req/s ` +
      `p50 ${m.p50Ms.toFixed(3)} p99 ${m.p99Ms.toFixed(3)} ms cpu ${m.cpuUsPerReq.toFixed(0)} µs/req` +
      (Number.isFinite(m.loopCpuUsPerReq)
        ? ` (event loop ${m.loopCpuUsPerReq.toFixed(0)} µs/req, on CPU ${m.loopOnCpuPct.toFixed(0)} %, waiting ${m.loopWaitPct.toFixed(0)} %)`
        : ''),
  );
  return m;
}

/**
 * Runs the comparison over `variants` for `rounds` rounds (order shuffled per round from `seed`).
 *
 * @returns one result per variant and per unavailable variant, in `VARIANT_NAMES` order of input.
 */
export async function runComparison(
  variants: readonly Variant[],
  unavailable: readonly Unavailable[],
  s: Omit<RunSettings, 'connections'> & { rounds: number; seed: number },
): Promise<{ results: VariantResult[]; orders: VariantName[][] }> {
  const runs = new Map<VariantName, Record<string, Measurement[]>>();
  for (const v of variants) runs.set(v.name, Object.fromEntries(SHAPES.map((c) => [String(c), []])));
  const orders: VariantName[][] = [];
  for (let r = 0; r < s.rounds; r++) {
    const order = shuffled(variants, s.seed + r);
    orders.push(order.map((v) => v.name));
    s.log(`round ${r + 1}/${s.rounds}: ${order.map((v) => v.name).join(' → ')}`);
    for (const v of order) {
      for (const connections of SHAPES) {
        // Warm up once per variant and round, before its first shape.
        const warmupS = connections === SHAPES[0] ? s.warmupS : 0;
        const m = await measure({ ...v, label: v.name }, { ...s, connections, warmupS });
        if (m) runs.get(v.name)![String(connections)]!.push(m);
      }
    }
  }
  const results: VariantResult[] = variants.map((v) => {
    const r = runs.get(v.name)!;
    return {
      name: v.name,
      description: v.description,
      available: true,
      runs: r,
      summary: Object.fromEntries(Object.entries(r).map(([k, ms]) => [k, summarize(ms)])),
      peakRssMb: totalPeakRssMb(v.serverPids()),
    };
  });
  for (const u of unavailable) {
    results.push({
      name: u.name,
      description: u.reason,
      available: false,
      reason: u.reason,
      runs: {},
      summary: {},
      peakRssMb: Number.NaN,
    });
  }
  return { results, orders };
}
