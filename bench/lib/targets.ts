/**
 * The DESIGN §13 targets, checked against a run's medians.
 */
import type { AuditResult } from './audit.js';
import type { Summary, VariantResult } from './compare.js';
import { WORKING_SET, type ScaleResult } from './scale.js';

/** PASS/MISS for a target; `info` for a figure reported without a target; `n/a` when not measured. */
export type Verdict = 'PASS' | 'MISS' | 'info' | 'n/a';

/** One checked target. */
export interface TargetCheck {
  readonly area: string;
  readonly subject: string;
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  readonly target: string;
  readonly verdict: Verdict;
}

/** Latchkey variants the proxy targets apply to (the JSON envelope is reported for information). */
const STREAMING = new Set(['lk-forward-bearer', 'lk-forward-signed', 'lk-gateway']);

const check = (ok: boolean, applies: boolean, value: number): Verdict =>
  !Number.isFinite(value) ? 'n/a' : !applies ? 'info' : ok ? 'PASS' : 'MISS';

/**
 * Checks the proxy targets (throughput vs bare, added latency, p99 vs bare), the scale targets
 * (throughput within 10 % from smallest to 1M, RSS ≤ 300 MB at 1M) and the audit target.
 */
export function checkTargets(
  comparison: readonly VariantResult[],
  scale: readonly ScaleResult[],
  audit: readonly AuditResult[],
): TargetCheck[] {
  const out: TargetCheck[] = [];
  const sum = (name: string, c: 1 | 50): Summary | undefined =>
    comparison.find((v) => v.name === name && v.available)?.summary[String(c)];
  const direct1 = sum('direct', 1);
  const bare50 = sum('bare', 50);
  const nginx50 = sum('nginx', 50);
  for (const v of comparison.filter((x) => x.name.startsWith('lk-') && x.available)) {
    const applies = STREAMING.has(v.name);
    const s1 = v.summary['1'];
    const s50 = v.summary['50'];
    const ratioBare = (s50?.rps ?? NaN) / (bare50?.rps ?? NaN);
    const ratioNginx = (s50?.rps ?? NaN) / (nginx50?.rps ?? NaN);
    const addP50 = (s1?.p50Ms ?? NaN) - (direct1?.p50Ms ?? NaN);
    const addP99 = (s1?.p99Ms ?? NaN) - (direct1?.p99Ms ?? NaN);
    const p99Ratio = (s50?.p99Ms ?? NaN) / (bare50?.p99Ms ?? NaN);
    const area = 'proxy';
    out.push(
      {
        area,
        subject: v.name,
        metric: 'req/s ÷ bare (50c)',
        value: ratioBare,
        unit: '×',
        target: '≥ 0.80',
        verdict: check(ratioBare >= 0.8, applies, ratioBare),
      },
      {
        area,
        subject: v.name,
        metric: 'req/s ÷ nginx (50c)',
        value: ratioNginx,
        unit: '×',
        target: '(reported)',
        verdict: check(true, false, ratioNginx),
      },
      {
        area,
        subject: v.name,
        metric: 'added p50 over direct (1c)',
        value: addP50,
        unit: 'ms',
        target: '≤ 0.25 ms',
        verdict: check(addP50 <= 0.25, applies, addP50),
      },
      {
        area,
        subject: v.name,
        metric: 'added p99 over direct (1c)',
        value: addP99,
        unit: 'ms',
        target: '≤ 1 ms',
        verdict: check(addP99 <= 1, applies, addP99),
      },
      {
        area,
        subject: v.name,
        metric: 'p99 ÷ bare p99 (50c)',
        value: p99Ratio,
        unit: '×',
        target: '≤ 1.5',
        verdict: check(p99Ratio <= 1.5, applies, p99Ratio),
      },
    );
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
    out.push({
      area: 'scale',
      subject: db,
      metric: `req/s at ${large.size.toLocaleString('en-US')} ÷ at ${small.size.toLocaleString('en-US')} grants, each call a random stored grant`,
      value: ratio,
      unit: '×',
      target: '≥ 0.90 (10 → 1,000,000)',
      verdict: check(ratio >= 0.9, isFull, ratio),
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
        verdict: check(wsRatio >= 0.9, false, wsRatio),
      });
    }
    out.push({
      area: 'scale',
      subject: db,
      metric: `peak RSS at ${large.size.toLocaleString('en-US')} grants`,
      value: large.peakRssMb,
      unit: 'MB',
      target: '≤ 300 MB at 1,000,000',
      verdict: check(large.peakRssMb <= 300, isFull, large.peakRssMb),
    });
  }
  for (const db of ['sqlite', 'postgres'] as const) {
    const sync = audit.find((a) => a.db === db && a.mode === 'sync');
    const async_ = audit.find((a) => a.db === db && a.mode === 'async');
    if (!sync || !async_) continue;
    const ratio = sync.summary.rps / async_.summary.rps;
    out.push({
      area: 'audit',
      subject: db,
      metric: 'req/s sync ÷ async (50c)',
      value: ratio,
      unit: '×',
      target: '≥ 0.90',
      verdict: check(ratio >= 0.9, true, ratio),
    });
  }
  return out;
}
