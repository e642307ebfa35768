/** Command-line options of `npm run bench`. */
import { DEFAULT_PG_URL } from './pg.js';
import { VARIANT_NAMES } from '../variants/types.js';

const SECTIONS = ['scale', 'audit', 'profile'];

/** Parsed options. */
export interface BenchOptions {
  /** Rounds of the main comparison and the audit section (median reported). */
  readonly rounds: number;
  /** Seconds per measured run. */
  readonly durationS: number;
  /** Seconds of warm-up load before each measured run. */
  readonly warmupS: number;
  /** Seconds per run of the scale section. */
  readonly scaleDurationS: number;
  /** Stored grant counts of the scale section. */
  readonly scaleSizes: readonly number[];
  /** Tokens of `--only`: variant names and/or section names (`scale`, `audit`, `profile`). */
  readonly only: readonly string[] | undefined;
  readonly quick: boolean;
  readonly skipScale: boolean;
  readonly skipAudit: boolean;
  readonly skipProfile: boolean;
  readonly skipPg: boolean;
  readonly pgUrl: string;
  /** Seconds of profiled load. */
  readonly profileS: number;
  /** Seed of the round orders. */
  readonly seed: number;
  readonly reportPath: string;
  readonly jsonPath: string;
  /** Where to copy the raw `.cpuprofile` (for a flame graph in DevTools or speedscope); none when unset. */
  readonly profileOut: string | undefined;
  /** A saved results JSON to render the report from, measuring nothing (`--render`). */
  readonly renderFrom: string | undefined;
  /** The load generator: `auto` (wrk when installed, else autocannon), `wrk` or `autocannon`. */
  readonly load: 'auto' | 'wrk' | 'autocannon';
}

/** Usage text. */
export const USAGE = `Usage: npm run bench -- [options]
  --quick              1 round, 2 s per run, no 1,000,000-grant size (development; noisy)
  --only a,b,…         only these variants (direct, nginx, bare, lk-forward-bearer, lk-forward-signed,
                       lk-proxy, lk-gateway) and/or sections (scale, audit, profile)
  --rounds N           rounds of interleaved runs (default 3)
  --duration S         seconds per measured run (default 10)
  --warmup S           seconds of warm-up before each run (default 2; 1 with --quick)
  --scale-sizes a,b,…  stored grants per scale step (default 10,10000,1000000)
  --skip-scale | --skip-audit | --skip-profile | --skip-pg
  --pg-url URL         PostgreSQL server for fresh databases (default ${DEFAULT_PG_URL})
  --seed N             seed of the round orders (default: time-based)
  --report FILE        markdown report (default docs/benchmarks.md)
  --json FILE          JSON results (default bench/results/latest.json)
  --profile-out FILE   also keep the raw .cpuprofile (open it in Chrome DevTools or speedscope)
  --render FILE        measure nothing: write the report (--report) again from a saved results JSON
  --load G             load generator: auto (default: wrk when installed, else autocannon), wrk, autocannon`;

function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new TypeError(`${name} needs a positive number`);
  return n;
}

/**
 * Parses argv (without node and script).
 *
 * @throws {TypeError} on an unknown option or a bad value (the caller prints {@link USAGE}).
 */
export function parseOptions(argv: readonly string[]): BenchOptions {
  const quick = argv.includes('--quick');
  let rounds = quick ? 1 : 3;
  let durationS = quick ? 2 : 10;
  let warmupS = quick ? 1 : 2;
  let scaleSizes = quick ? [10, 10_000] : [10, 10_000, 1_000_000];
  let only: string[] | undefined;
  let pgUrl = DEFAULT_PG_URL;
  let seed = Date.now() % 1_000_000;
  let reportPath = 'docs/benchmarks.md';
  let jsonPath = 'bench/results/latest.json';
  let profileOut: string | undefined;
  let renderFrom: string | undefined;
  let load: BenchOptions['load'] = 'auto';
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new TypeError(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') continue;
    else if (a === '--rounds') rounds = Math.round(positive(a, next()));
    else if (a === '--duration') durationS = positive(a, next());
    else if (a === '--warmup') warmupS = Number(next());
    else if (a === '--scale-sizes')
      scaleSizes = next()
        .split(',')
        .map((s) => Math.round(positive(a, s)));
    else if (a === '--only') only = next().split(',').filter(Boolean);
    else if (a === '--pg-url') pgUrl = next();
    else if (a === '--seed') seed = Math.round(Number(next()));
    else if (a === '--report') reportPath = next();
    else if (a === '--json') jsonPath = next();
    else if (a === '--profile-out') profileOut = next();
    else if (a === '--render') renderFrom = next();
    else if (a === '--load') {
      const g = next();
      if (g !== 'auto' && g !== 'wrk' && g !== 'autocannon')
        throw new TypeError('--load needs auto, wrk or autocannon');
      load = g;
    } else if (['--skip-scale', '--skip-audit', '--skip-profile', '--skip-pg'].includes(a)) flags.add(a);
    else throw new TypeError(`unknown option ${a}`);
  }
  const unknown = only?.filter((t) => !SECTIONS.includes(t) && !(VARIANT_NAMES as readonly string[]).includes(t));
  if (unknown?.length) throw new TypeError(`--only: unknown variant or section ${unknown.join(', ')}`);
  return {
    rounds,
    durationS,
    warmupS,
    scaleDurationS: Math.max(2, durationS / 2),
    scaleSizes,
    only,
    quick,
    skipScale: flags.has('--skip-scale'),
    skipAudit: flags.has('--skip-audit'),
    skipProfile: flags.has('--skip-profile'),
    skipPg: flags.has('--skip-pg'),
    pgUrl,
    profileS: quick ? 3 : 10,
    seed,
    reportPath,
    jsonPath,
    profileOut,
    renderFrom,
    load,
  };
}

/** Whether a section (`scale`, `audit`, `profile`) runs under these options. */
export function sectionEnabled(o: BenchOptions, section: 'scale' | 'audit' | 'profile'): boolean {
  if (o.only) return o.only.includes(section);
  if (section === 'scale') return !o.skipScale;
  if (section === 'audit') return !o.skipAudit;
  return !o.skipProfile;
}
