/**
 * The DESIGN §13 targets, checked against a run's medians and against each round.
 */
import type { AuditResult } from './audit.js';
import type { Summary, VariantResult } from './compare.js';
import type { Measurement } from './load.js';
import { WORKING_SET, type ScaleResult } from './scale.js';

/**
 * PASS/MISS for a target whose median and every round agree; MIXED when they do not (the rounds
 * compared straddle the target: the run does not settle it); `info` for a figure reported without a
 * target; `n/a` when not measured.
 */
export type Verdict = 'PASS' | 'MISS' | 'MIXED' | 'info' | 'n/a';

/** Whether a verdict judges a target (PASS, MISS or MIXED), rather than reporting a figure. */
export function isJudged(v: Verdict): boolean {
  return v === 'PASS' || v === 'MISS' || v === 'MIXED';
}

/** One checked target. */
export interface TargetCheck {
  readonly area: string;
  readonly subject: string;
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  readonly target: string;
  readonly verdict: Verdict;
  /**
   * The metric in each round (round k of the subject against round k of what it is compared with),
   * in round order; absent for a figure taken once (peak RSS).
   */
  readonly perRound?: readonly number[];
}

/** Latchkey variants the proxy targets apply to (the JSON envelope is reported for information). */
const STREAMING = new Set(['lk-forward-bearer', 'lk-forward-signed', 'lk-gateway']);

/**
 * The verdict of `value` (the medians' figure) under `ok`: MIXED when a round's figure falls on the
 * other side of the target than the medians' does.
 */
function judge(ok: (v: number) => boolean, applies: boolean, value: number, perRound: readonly number[] = []): Verdict {
  if (!Number.isFinite(value)) return 'n/a';
  if (!applies) return 'info';
  const pass = ok(value);
  if (perRound.some((r) => Number.isFinite(r) && ok(r) !== pass)) return 'MIXED';
  return pass ? 'PASS' : 'MISS';
}

/** `f` of round k of `a` against round k of `b`, for the rounds both have. */
function byRound(
  a: readonly Measurement[] | undefined,
  b: readonly Measurement[] | undefined,
  f: (x: Measurement, y: Measurement) => number,
): number[] {
  const n = Math.min(a?.length ?? 0, b?.length ?? 0);
  return Array.from({ length: n }, (_, k) => f(a![k]!, b![k]!));
}

/** The figures of a run that a proxy target compares: a median (`Summary`) or one round (`Measurement`). */
type Figures = Pick<Summary, 'rps' | 'p50Ms' | 'p99Ms'>;

/** A proxy target: a Latchkey variant against a baseline at one shape; `ok` absent: reported only. */
interface ProxyTarget {
  readonly metric: string;
  readonly connections: 1 | 50;
  readonly against: 'bare' | 'nginx' | 'direct';
  readonly figure: (x: Figures, base: Figures) => number;
  readonly unit: string;
  readonly target: string;
  readonly ok?: (v: number) => boolean;
}

const proxyTarget = (
  metric: string,
  connections: 1 | 50,
  against: ProxyTarget['against'],
  figure: ProxyTarget['figure'],
  unit: string,
  target: string,
  ok?: (v: number) => boolean,
): ProxyTarget => ({ metric, connections, against, figure, unit, target, ok });
const rpsRatio = (x: Figures, b: Figures) => x.rps / b.rps;
const addedP50 = (x: Figures, b: Figures) => x.p50Ms - b.p50Ms;
const addedP99 = (x: Figures, b: Figures) => x.p99Ms - b.p99Ms;
const p99Ratio = (x: Figures, b: Figures) => x.p99Ms / b.p99Ms;
const atLeast = (t: number) => (v: number) => v >= t;
const atMost = (t: number) => (v: number) => v <= t;

/** The proxy targets (DESIGN §13), in report order. */
const PROXY_TARGETS: readonly ProxyTarget[] = [
  proxyTarget('req/s ÷ bare (50c)', 50, 'bare', rpsRatio, '×', '≥ 0.80', atLeast(0.8)),
  proxyTarget('req/s ÷ nginx (50c)', 50, 'nginx', rpsRatio, '×', '(reported)'),
  proxyTarget('added p50 over direct (1c)', 1, 'direct', addedP50, 'ms', '≤ 0.25 ms', atMost(0.25)),
  proxyTarget('added p99 over direct (1c)', 1, 'direct', addedP99, 'ms', '≤ 1 ms', atMost(1)),
  proxyTarget('p99 ÷ bare p99 (50c)', 50, 'bare', p99Ratio, '×', '≤ 1.5', atMost(1.5)),
];

/**
 * Checks the proxy targets (throughput vs bare, added latency, p99 vs bare), the scale targets
 * (throughput within 10 % from smallest to 1M, RSS ≤ 300 MB at 1M) and the audit target, on the
 * medians over rounds and on each round (see {@link Verdict}).
 *
 * @returns one check per target and reported figure, with its per-round figures where runs repeat.
 */
export function checkTargets(
  comparison: readonly VariantResult[],
  scale: readonly ScaleResult[],
  audit: readonly AuditResult[],
): TargetCheck[] {
  const out: TargetCheck[] = [];
  const variant = (name: string) => comparison.find((v) => v.name === name && v.available);
  for (const v of comparison.filter((x) => x.name.startsWith('lk-') && x.available)) {
    const applies = STREAMING.has(v.name);
    for (const p of PROXY_TARGETS) {
      const shape = String(p.connections);
      const base = variant(p.against);
      const a = v.summary[shape];
      const b = base?.summary[shape];
      const value = a && b ? p.figure(a, b) : NaN;
      const perRound = byRound(v.runs[shape], base?.runs[shape], p.figure);
      out.push({
        area: 'proxy',
        subject: v.name,
        metric: p.metric,
        value,
        unit: p.unit,
        target: p.target,
        verdict: judge(p.ok ?? (() => true), p.ok !== undefined && applies, value, perRound),
        perRound,
      });
    }
  }
  for (const db of ['sqlite', 'postgres'] as const) {
    const rows = scale
      .filter((r) => r.db === db && (r.pattern ?? 'uniform') === 'uniform')
      .sort((a, b) => a.size - b.size);
    if (rows.length < 2) continue;
    const small = rows[0]!;
    const large = rows[rows.length - 1]!;
    const isFull = large.size >= 1_000_000;
    const ratio = large.summary.rps / small.summary.rps;
    const perRound = byRound(large.runs, small.runs, (a, b) => a.rps / b.rps);
    out.push({
      area: 'scale',
      subject: db,
      metric: `req/s at ${large.size.toLocaleString('en-US')} ÷ at ${small.size.toLocaleString('en-US')} grants, each call a random stored grant`,
      value: ratio,
      unit: '×',
      target: '≥ 0.90 (10 → 1,000,000)',
      verdict: judge(atLeast(0.9), isFull, ratio, perRound),
      perRound,
    });
    // The same stored counts, calls spread over a working set the caches hold (the small size's
    // uniform run names the same grants when it stores no more than the working set).
    const ws = scale.find((r) => r.db === db && r.size === large.size && r.pattern === 'working-set');
    if (ws && small.size <= WORKING_SET) {
      const wsRatio = ws.summary.rps / small.summary.rps;
      out.push({
        area: 'scale',
        subject: db,
        metric: `req/s at ${large.size.toLocaleString('en-US')} ÷ at ${small.size.toLocaleString('en-US')} grants, each call one of ${WORKING_SET.toLocaleString('en-US')} grants`,
        value: wsRatio,
        unit: '×',
        target: '(reported)',
        verdict: judge(atLeast(0.9), false, wsRatio),
        perRound: byRound(ws.runs, small.runs, (a, b) => a.rps / b.rps),
      });
    }
    out.push({
      area: 'scale',
      subject: db,
      metric: `peak RSS at ${large.size.toLocaleString('en-US')} grants`,
      value: large.peakRssMb,
      unit: 'MB',
      target: '≤ 300 MB at 1,000,000',
      verdict: judge(atMost(300), isFull, large.peakRssMb),
    });
  }
  for (const db of ['sqlite', 'postgres'] as const) {
    const sync = audit.find((a) => a.db === db && a.mode === 'sync');
    const async_ = audit.find((a) => a.db === db && a.mode === 'async');
    if (!sync || !async_) continue;
    const ratio = sync.summary.rps / async_.summary.rps;
    const perRound = byRound(sync.runs, async_.runs, (a, b) => a.rps / b.rps);
    out.push({
      area: 'audit',
      subject: db,
      metric: 'req/s sync ÷ async (50c)',
      value: ratio,
      unit: '×',
      target: '≥ 0.90',
      verdict: judge(atLeast(0.9), true, ratio, perRound),
      perRound,
    });
  }
  return out;
}
