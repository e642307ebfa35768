/**
 * Renders docs/benchmarks.md from a run's results.
 */
import type { AuditResult } from './audit.js';
import type { Summary, VariantResult } from './compare.js';
import type { Measurement } from './load.js';
import type { MachineInfo } from './machine.js';
import type { BenchOptions } from './options.js';
import type { ProfileResult } from './profile.js';
import { hotspotShares, suggestionsFor } from './suggestions.js';
import { WORKING_SET, type ScaleResult } from './scale.js';
import { isJudged, type TargetCheck } from './targets.js';

/** Everything one run produced (also the shape of bench/results/latest.json). */
export interface BenchResults {
  readonly date: string;
  readonly command: string;
  readonly options: BenchOptions;
  readonly machine: MachineInfo;
  readonly nginxWorkers: number;
  /** What `latchkey serve` ran from. */
  readonly latchkeyRuntime: string;
  /** The load generator of every run (results saved before wrk was supported: autocannon). */
  readonly loadGenerator?: 'wrk' | 'autocannon';
  readonly orders: string[][];
  readonly comparison: VariantResult[];
  readonly scale: ScaleResult[];
  readonly audit: AuditResult[];
  readonly profile: ProfileResult | undefined;
  readonly targets: TargetCheck[];
  /** Sections not run and why. */
  readonly skipped: string[];
  /** Why the run is invalid; empty when valid. */
  readonly problems: string[];
}

const f = (n: number | undefined, digits = 0): string =>
  n === undefined || !Number.isFinite(n)
    ? '—'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (n: number | undefined) => f(n, 3);
const pct = (share: number) => `${(share * 100).toFixed(1)} %`;

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** `on CPU % / waiting %` of an event loop, or a dash when it was not measured. */
function loopShares(s: Pick<Summary, 'loopOnCpuPct' | 'loopWaitPct'>): string {
  return Number.isFinite(s.loopOnCpuPct) ? `${f(s.loopOnCpuPct)} % / ${f(s.loopWaitPct)} %` : '—';
}

function comparisonTable(results: readonly VariantResult[], connections: 1 | 50): string {
  return table(
    [
      'variant',
      'req/s',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'CPU µs/req',
      'event loop CPU µs/req',
      'event loop on CPU / waiting',
      'upstream CPU µs/req',
      'peak RSS MB',
      'load gen CPU',
    ],
    results.map((v) => {
      const s: Summary | undefined = v.summary[String(connections)];
      if (!v.available || !s) return [v.name, 'not available', '', '', '', '', '', '', '', '', ''];
      return [
        v.name,
        f(s.rps),
        ms(s.p50Ms),
        ms(s.p90Ms),
        ms(s.p99Ms),
        f(s.cpuUsPerReq),
        f(s.loopCpuUsPerReq),
        loopShares(s),
        f(s.upstreamCpuUsPerReq),
        f(v.peakRssMb, 1),
        `${f(s.loadgenCpuPct)} %`,
      ];
    }),
  );
}

function profileSection(p: ProfileResult | undefined, skipped: boolean): string[] {
  if (!p) return ['## Profile', '', skipped ? 'Not run (`--skip-profile` or `--only`).' : 'Not available.', ''];
  const a = p.analysis;
  return [
    '## Profile',
    '',
    `\`node --cpu-prof\` of one Latchkey process under \`GET /v1/forward\` (bearer, 50 connections, sync audit, SQLite) ` +
      `for ${p.seconds} s after a warm-up; only samples inside the measured window count (start-up excluded). ` +
      `Profiled throughput: ${f(p.measurement.rps)} req/s (the profiler itself costs some). ` +
      `Busy CPU in the window: ${f(a.busyMs)} ms of ${f(a.windowMs)} ms wall ` +
      `(${f((a.busyMs / 1000 / Math.max(1, p.measurement.responses)) * 1e6)} µs per request). Shares below are of busy time.`,
    '',
    '### By component (self time)',
    '',
    table(
      ['component', 'ms', 'share'],
      a.components.slice(0, 16).map((c) => [c.component, f(c.ms), pct(c.share)]),
    ),
    '',
    '### Top functions by self time',
    '',
    table(
      ['function', 'where', 'component', 'self ms', 'share'],
      a.self.map((h) => [`\`${h.fn}\``, h.where ? `\`${h.where}\`` : '', h.component, f(h.ms), pct(h.share)]),
    ),
    '',
    '### Latchkey functions by inclusive time (self + callees)',
    '',
    table(
      ['function', 'where', 'inclusive ms', 'share'],
      a.inclusive.slice(0, 15).map((h) => [`\`${h.fn}\``, `\`${h.where}\``, f(h.ms), pct(h.share)]),
    ),
    '',
    '### Hotspots',
    '',
    'Time of the samples with the hotspot’s frames on the stack (synchronous callees included), or a component’s self time where marked; rows overlap.',
    '',
    table(
      ['hotspot', 'ms', 'share'],
      hotspotShares(a).map((x) => [x.label, f(x.ms), pct(x.share)]),
    ),
    '',
    '### Suggestions (from the measured shares)',
    '',
    ...suggestionsFor(a).map((s) => `- ${s}`),
    '',
  ];
}

/** `a / b / c` req/s of each round, in round order, and max ÷ min. */
function roundsCell(runs: readonly Measurement[]): [string, string] {
  const rps = runs.map((m) => m.rps);
  if (rps.length === 0) return ['', ''];
  return [rps.map((x) => f(x)).join(' / '), `${f(Math.max(...rps) / Math.min(...rps), 2)} ×`];
}

/**
 * Run-to-run spread: every round's req/s (50 connections) of the comparison and the audit section.
 * `direct` does the same work in every round, so its spread is the machine's own drift (other
 * tenants, CPU frequency): when it is large, ratios of medians taken minutes apart carry that drift.
 */
function spreadSection(r: BenchResults): string[] {
  const rows: string[][] = [];
  for (const v of r.comparison) {
    const runs = v.runs['50'];
    if (v.available && runs?.length) rows.push([v.name, ...roundsCell(runs)]);
  }
  for (const a of r.audit) rows.push([`audit ${a.db} ${a.mode}`, ...roundsCell(a.runs)]);
  if (rows.length === 0) return [];
  const direct = r.comparison.find((v) => v.name === 'direct')?.runs['50'] ?? [];
  const drift =
    direct.length > 1
      ? `The upstream called directly, the same work every round, moved by ${roundsCell(direct)[1]} between rounds on this run.`
      : '';
  return [
    '## Run-to-run spread',
    '',
    `req/s at 50 connections in every round, in round order, and the largest ÷ the smallest. ${drift}`.trim(),
    '',
    table(['variant', 'req/s per round', 'max ÷ min'], rows),
    '',
  ];
}

/** One line of audit ratios: sync ÷ async per database, and PostgreSQL ÷ SQLite per mode. */
function auditRatios(audit: readonly AuditResult[]): string {
  const rps = (db: string, mode: string) => audit.find((a) => a.db === db && a.mode === mode)?.summary.rps ?? NaN;
  const parts = [
    ...['sqlite', 'postgres'].map((db) => `${db} sync ÷ async ${f(rps(db, 'sync') / rps(db, 'async'), 2)}`),
    ...['sync', 'async'].map(
      (mode) => `PostgreSQL ÷ SQLite (${mode}) ${f(rps('postgres', mode) / rps('sqlite', mode), 2)}`,
    ),
  ];
  return `Ratios of req/s: ${parts.join('; ')} (target: sync ≥ 0.90 × async).`;
}

/** The markdown report. */
export function renderReport(r: BenchResults): string {
  const o = r.options;
  const m = r.machine;
  const lines: string[] = [
    '# Benchmarks',
    '',
    `<!-- Generated by \`npm run bench\` (bench/run.ts); regenerated on every run — do not edit by hand. -->`,
    '',
    `Run: ${r.date}. Status: **${r.problems.length ? 'INVALID' : 'valid'}**.` +
      (o.quick ? ' **Quick run** (1 round, short runs): development numbers, noisy — not for publication.' : ''),
    '',
  ];
  if (r.problems.length) lines.push('Problems that invalidate this run:', '', ...r.problems.map((p) => `- ${p}`), '');
  lines.push(
    '## Command',
    '',
    '```bash',
    r.command,
    '```',
    '',
    '## Machine',
    '',
    table(
      ['', ''],
      [
        ['cores (`nproc`)', String(m.cores)],
        ['CPU', m.cpuModel],
        ['memory', `${m.memoryGb} GB`],
        ['kernel', m.kernel],
        ['Node.js', m.node],
        ['nginx', m.nginx],
        ['autocannon', m.autocannon],
        ['wrk', m.wrk ?? 'not recorded'],
        ['PostgreSQL', m.postgres],
        ['load average at start', m.loadavg],
      ],
    ),
    '',
    '## Configuration',
    '',
    `- Rounds: ${o.rounds}; ${o.durationS} s per measured run, ${o.warmupS} s warm-up (50 connections) per variant and round; ` +
      'variants interleaved in a different (seeded) order each round; the **median** over rounds is reported for every figure.',
    `- Round orders (seed ${o.seed}): ${r.orders.map((x, i) => `${i + 1}. ${x.join(' → ')}`).join('; ') || '—'}.`,
    r.loadGenerator === 'wrk'
      ? '- Load generator: wrk (its own process; 1 thread at 1 connection, 2 threads at 50), keep-alive, no pipelining, 1 and 50 connections, ' +
          '10 s timeout. A Lua script counts every response by status and reads wrk’s µs latency histogram with wrk’s coordinated-omission correction undone, so percentiles are of raw per-response latency (from writing the request to the end of the response), as with autocannon. ' +
          'Requests whose headers change per request (signed requests, scale’s random grant ids) are generated before each run and each is sent once.'
      : '- Load generator: autocannon (programmatic, in the orchestrating process), keep-alive, no pipelining, 1 and 50 connections. ' +
          'Latency is recorded per response from autocannon’s hrtime measurement at µs resolution.',
    '- Upstream: a `node:http` server in its own process answering every request with the same 195-byte JSON body, keep-alive.',
    `- nginx: \`worker_processes ${r.nginxWorkers}\`, \`proxy_set_header Authorization\` (static), \`proxy_http_version 1.1\`, ` +
      '`proxy_set_header Connection ""`, upstream `keepalive 64`, access log off; CPU and RSS summed over master + workers.',
    '- bare: `bench/bare-proxy.ts` — `node:http` + a Map lookup + one AES-256-GCM open (16-byte tag) + undici `Pool.stream()` into the raw response.',
    `- Latchkey: \`latchkey serve\` (one process per variant) running ${r.latchkeyRuntime}, SQLite, \`LATCHKEY_AUDIT_MODE=sync\` unless stated, \`LATCHKEY_LOG_LEVEL=warn\`, ` +
      'a bearer managed secret granted to the `system` principal; signed requests carry a fresh RFC 9421 signature (new nonce) each. ' +
      'CPU and RSS include its audit insert and checkpoint threads (SQLite).',
    '- CPU per request: utime + stime of the server process(es) from `/proc/<pid>/stat` over the run ÷ 2xx responses ' +
      '("direct": the upstream’s). Peak RSS: `VmHWM` from `/proc/<pid>/status` at the end (over the process’s lifetime).',
    '- Event loop (the Node servers: bare and Latchkey): the main thread alone, from `/proc/<pid>/task/<pid>/stat` ' +
      '(its CPU ÷ 2xx responses, and ÷ wall time: "on CPU") and `schedstat` (time runnable but waiting for a core: ' +
      '"waiting"). A single event loop bounds a Node server, so its CPU per request bounds throughput; the rest of ' +
      'the wall time it either waited for a core (the cores were busy with other threads or processes) or had ' +
      'nothing to run (every connection waited on the upstream or, with sync audit, on a commit).',
    '- Every server under test, the upstream and the load generator share the same cores ' +
      (r.loadGenerator === 'wrk'
        ? '(the "load gen CPU" column says how much of one core wrk took), '
        : '(on 2 cores autocannon takes up to one of them), ') +
      'so absolute figures understate what a server alone would do; ratios are the point.',
    '',
    '## Targets (DESIGN §13)',
    '',
    table(
      ['area', 'subject', 'metric', 'value', 'per round', 'target', 'verdict'],
      r.targets.map((t) => {
        const fig = (v: number) => (t.unit === 'ms' ? ms(v) : f(v, t.unit === '×' ? 2 : 1));
        return [
          t.area,
          t.subject,
          t.metric,
          `${fig(t.value)} ${t.unit}`,
          // Results saved before per-round figures existed have none: a dash.
          t.perRound?.length ? t.perRound.map(fig).join(' / ') : '—',
          t.target,
          isJudged(t.verdict) ? `**${t.verdict}**` : t.verdict,
        ];
      }),
    ),
    '',
    [
      'The value is taken on the medians over rounds; "per round" is the same figure for each round (round k of the subject against round k of what it is compared with). A verdict is PASS or MISS only when every round agrees with the medians; **MIXED** when the rounds straddle the target, so the run does not settle it (the figure is near the target, or the machine drifted between the runs compared: see the run-to-run spread).',
      'Proxy targets apply to the streaming doors (`/v1/forward`, gateway); `/v1/proxy` buffers a JSON envelope and is reported for information.',
      o.scaleSizes.includes(1_000_000)
        ? ''
        : 'Scale targets are defined at 1,000,000 grants, which this run skipped: reported for information.',
    ]
      .join(' ')
      .trim(),
    '',
    '## Throughput and latency',
    '',
    '### 50 connections (throughput)',
    '',
    comparisonTable(r.comparison, 50),
    '',
    '### 1 connection (latency)',
    '',
    comparisonTable(r.comparison, 1),
    '',
    ...r.comparison.map((v) => `- **${v.name}**: ${v.description}`),
    '',
    ...spreadSection(r),
    '## Scale (stored grants)',
    '',
  );
  if (r.scale.length) {
    lines.push(
      '`GET /v1/forward`, bearer, 50 connections, ' +
        `${o.scaleDurationS} s per run, ${o.rounds} round(s). Two access patterns: **uniform**, every request names a random grant among all ` +
        'stored ones (at 1,000,000 nearly every call misses the caches and reads its grant and secret from the database, and unwraps its DEK); ' +
        `**working set**, every request names a random grant among the first ${WORKING_SET.toLocaleString('en-US')} (run where more are stored: ` +
        'what the stored count alone costs calls whose grants are in use). The target’s verdict is taken on uniform. ' +
        'Seeded directly into the database (multi-row INSERTs on SQLite, `INSERT … SELECT unnest(…)` on PostgreSQL, one transaction per 50,000 rows): ' +
        'N managed secrets, each sealed through the server’s keyring under its own DEK with its own row-bound AAD, and one grant per secret ' +
        '(plus the secret and grant created through the API as templates). Latchkey is restarted after seeding.',
      '',
      table(
        [
          'database',
          'grants stored',
          'requests name',
          'seeding s',
          'req/s',
          'p50 ms',
          'p99 ms',
          'CPU µs/req',
          'peak RSS MB',
          'RSS at end MB',
        ],
        r.scale.map((x) => [
          x.db,
          f(x.size),
          (x.pattern ?? 'uniform') === 'uniform' ? `any of ${f(x.size)}` : `one of ${f(Math.min(x.size, WORKING_SET))}`,
          f(x.seedSeconds, 1),
          f(x.summary.rps),
          ms(x.summary.p50Ms),
          ms(x.summary.p99Ms),
          f(x.summary.cpuUsPerReq),
          f(x.peakRssMb, 1),
          f(x.endRssMb, 1),
        ]),
      ),
      '',
    );
  } else lines.push('Not run.', '');
  lines.push('## Audit cost', '');
  if (r.audit.length) {
    lines.push(
      `\`GET /v1/forward\`, bearer, 50 connections, ${o.durationS} s per run, ${o.rounds} round(s), one fixed grant.`,
      '',
      table(
        [
          'database',
          'audit mode',
          'req/s',
          'p50 ms',
          'p99 ms',
          'CPU µs/req',
          'event loop CPU µs/req',
          'event loop on CPU / waiting',
          'peak RSS MB',
        ],
        r.audit.map((x) => [
          x.db,
          x.mode,
          f(x.summary.rps),
          ms(x.summary.p50Ms),
          ms(x.summary.p99Ms),
          f(x.summary.cpuUsPerReq),
          f(x.summary.loopCpuUsPerReq),
          loopShares(x.summary),
          f(x.peakRssMb, 1),
        ]),
      ),
      '',
      auditRatios(r.audit),
      '',
    );
  } else lines.push('Not run.', '');
  lines.push(
    ...profileSection(
      r.profile,
      r.skipped.some((s) => s.startsWith('profile')),
    ),
  );
  if (r.skipped.length) lines.push('## Not run', '', ...r.skipped.map((s) => `- ${s}`), '');
  return `${lines.join('\n')}\n`;
}
