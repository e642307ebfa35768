/**
 * `npm run bench`: Latchkey's proxy cost side by side with the upstream called directly, nginx and a
 * bare Node proxy; scale (stored grants) and audit-mode sections; a CPU profile of `/v1/forward`.
 * Writes docs/benchmarks.md and bench/results/latest.json; exits 1 when the run is invalid
 * (non-2xx, errors or timeouts, a variant missing, a process that died), 2 on bad options.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as prettier from 'prettier';
import { runAudit, type AuditResult } from './lib/audit.js';
import { stopAllChildren } from './lib/child.js';
import { cleanUpAll } from './lib/cleanup.js';
import { runComparison, type VariantResult } from './lib/compare.js';
import { useLoadGenerator } from './lib/load.js';
import { REPO_ROOT } from './lib/latchkey.js';
import { builtIsCurrent } from '../packages/cli/bin/build-state.mjs';
import { describeMachine } from './lib/machine.js';
import { parseOptions, sectionEnabled, USAGE, type BenchOptions } from './lib/options.js';
import { serverVersion } from './lib/pg.js';
import { runProfile, type ProfileResult } from './lib/profile.js';
import { renderReport, type BenchResults } from './lib/report.js';
import { runScale, type DbKind, type ScaleResult } from './lib/scale.js';
import { checkTargets, isJudged } from './lib/targets.js';
import { startVariants } from './lib/variants-start.js';
import { findWrk, maxPremadeRunS, stopWrk, wrkRunSeconds } from './lib/wrk.js';
import { NGINX_WORKERS, startUpstream } from './variants/baselines.js';
import { VARIANT_NAMES, type VariantName } from './variants/types.js';
import { SIGNED_REQUEST_VALID_S } from './variants/latchkey.js';

const log = (msg: string) => process.stderr.write(`${msg}\n`);

/** How this run was invoked, for the report. */
function commandLine(): string {
  const args = process.argv.slice(2).join(' ');
  if (process.env['npm_lifecycle_event'] === 'bench') return `npm run bench${args ? ` -- ${args}` : ''}`;
  return `node --conditions=source --import tsx bench/run.ts${args ? ` ${args}` : ''}`;
}

async function main(opts: BenchOptions): Promise<number> {
  const problems: string[] = [];
  const skipped: string[] = [];
  // One load generator for every run: wrk when installed (much less CPU per request than
  // autocannon, which shares the two cores with the servers under test), else autocannon.
  const installedWrk = findWrk();
  const wrk = opts.load === 'autocannon' ? undefined : installedWrk;
  if (opts.load === 'wrk' && !wrk) {
    log('--load wrk: wrk is not installed (apt-get install -y wrk)');
    return 2;
  }
  const names = VARIANT_NAMES.filter((n) => !opts.only || opts.only.includes(n)) as VariantName[];
  // Signed requests are made before a wrk run and carry the SDK's signature TTL: a longer run (a
  // warm-up included) would fail part-way on expired signatures, so it is refused before anything runs.
  const longestS = wrkRunSeconds(Math.max(opts.durationS, opts.warmupS));
  if (wrk && names.includes('lk-forward-signed') && longestS > maxPremadeRunS(SIGNED_REQUEST_VALID_S)) {
    log(
      `--duration/--warmup ${longestS} s: with wrk, signed requests (valid ${SIGNED_REQUEST_VALID_S} s) allow ` +
        `at most ${maxPremadeRunS(SIGNED_REQUEST_VALID_S)} s per run (or use --load autocannon)`,
    );
    return 2;
  }
  useLoadGenerator(wrk ? { kind: 'wrk', bin: wrk } : { kind: 'autocannon' });
  log(`load generator: ${wrk ? `wrk (${wrk})` : 'autocannon'}`);
  const pgVersion = opts.skipPg ? 'skipped (--skip-pg)' : await serverVersion(opts.pgUrl);
  const machine = describeMachine(pgVersion, installedWrk);
  const dbs: DbKind[] = opts.skipPg ? ['sqlite'] : ['sqlite', 'postgres'];
  if (opts.skipPg) skipped.push('PostgreSQL: --skip-pg');
  else if (pgVersion.startsWith('unreachable')) problems.push(`PostgreSQL at ${opts.pgUrl} is ${pgVersion}`);
  let comparison: VariantResult[] = [];
  let orders: string[][] = [];
  let scale: ScaleResult[] = [];
  let audit: AuditResult[] = [];
  let profile: ProfileResult | undefined;
  const base = {
    durationS: opts.durationS,
    warmupS: opts.warmupS,
    rounds: opts.rounds,
    seed: opts.seed,
    problems,
    log,
  };

  // A section that fails is recorded (the run is invalid) and the next one still runs.
  const section = async (name: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      problems.push(`${name} failed: ${(err as Error)?.message ?? String(err)}`);
      log(`${name} failed: ${(err as Error)?.stack ?? String(err)}`);
    }
  };
  const sqliteOnly = problems.some((p) => p.startsWith('PostgreSQL')) ? (['sqlite'] as DbKind[]) : dbs;
  const upstream = await startUpstream();
  try {
    if (names.length) {
      await section('main comparison', async () => {
        const { variants, unavailable } = await startVariants(names, upstream, log, opts.only ?? []);
        for (const u of unavailable) if (u.expected) problems.push(`variant ${u.name} missing: ${u.reason}`);
        try {
          const out = await runComparison(variants, unavailable, { ...base, upstream });
          comparison = out.results;
          orders = out.orders;
        } finally {
          await Promise.all(variants.map((v) => v.stop()));
        }
      });
    } else skipped.push('main comparison: no variant selected by --only');
    if (sectionEnabled(opts, 'scale')) {
      log(`scale: sizes ${opts.scaleSizes.join(', ')} on ${sqliteOnly.join(', ')}`);
      await section('scale', async () => {
        const settings = { ...base, upstream, durationS: opts.scaleDurationS, pgUrl: opts.pgUrl };
        scale = await runScale({ ...settings, sizes: opts.scaleSizes, dbs: sqliteOnly });
      });
      if (!opts.scaleSizes.includes(1_000_000)) skipped.push('scale at 1,000,000 grants: --quick or --scale-sizes');
    } else skipped.push('scale: --skip-scale or --only');
    if (sectionEnabled(opts, 'audit')) {
      await section('audit', async () => {
        audit = await runAudit({ ...base, upstream, dbs: sqliteOnly, pgUrl: opts.pgUrl });
      });
    } else skipped.push('audit: --skip-audit or --only');
    if (sectionEnabled(opts, 'profile')) {
      const keepAs = opts.profileOut && path.resolve(process.cwd(), opts.profileOut);
      await section('profile', async () => {
        profile = await runProfile(upstream, opts.profileS, opts.warmupS, problems, log, keepAs);
      });
    } else skipped.push('profile: --skip-profile or --only');
  } finally {
    await upstream.child.stop();
  }

  const results: BenchResults = {
    date: new Date().toISOString(),
    command: commandLine(),
    options: opts,
    machine,
    nginxWorkers: NGINX_WORKERS,
    latchkeyRuntime: builtIsCurrent(path.join(REPO_ROOT, 'packages'))
      ? 'the compiled build (`npm run build`, current)'
      : 'the TypeScript sources through tsx (the compiled build is missing or older than a source: run `npm run build`)',
    loadGenerator: wrk ? 'wrk' : 'autocannon',
    orders,
    comparison,
    scale,
    audit,
    profile,
    targets: checkTargets(comparison, scale, audit),
    skipped,
    problems,
  };
  const jsonPath = path.resolve(REPO_ROOT, opts.jsonPath);
  mkdirSync(path.dirname(jsonPath), { recursive: true });
  // Formatted like the rest of the repository, so `npm run lint` (prettier --check) accepts it.
  const prettierOptions = { ...(await prettier.resolveConfig(jsonPath)), filepath: jsonPath };
  writeFileSync(jsonPath, await prettier.format(JSON.stringify(results), prettierOptions));
  const reportPath = path.resolve(REPO_ROOT, opts.reportPath);
  mkdirSync(path.dirname(reportPath), { recursive: true });
  writeFileSync(reportPath, renderReport(results));
  log(`wrote ${path.relative(REPO_ROOT, reportPath)} and ${path.relative(REPO_ROOT, jsonPath)}`);
  for (const t of results.targets) {
    if (isJudged(t.verdict)) {
      const rounds = t.perRound?.length ? `; per round ${t.perRound.map((x) => x.toFixed(3)).join(' / ')}` : '';
      log(
        `  ${t.verdict} ${t.area} ${t.subject}: ${t.metric} = ${t.value.toFixed(3)} ${t.unit} (target ${t.target}${rounds})`,
      );
    }
  }
  if (problems.length) {
    log(`INVALID RUN:\n  ${problems.join('\n  ')}`);
    return 1;
  }
  return 0;
}

let opts: BenchOptions;
try {
  opts = parseOptions(process.argv.slice(2));
} catch (err) {
  log(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (opts.renderFrom) {
  // The same measurements rendered by the current report code (e.g. after a new report section).
  const saved = JSON.parse(readFileSync(path.resolve(opts.renderFrom), 'utf8')) as BenchResults;
  const reportPath = path.resolve(REPO_ROOT, opts.reportPath);
  // Targets are judged again by the current code (per-round figures, MIXED) from the saved runs.
  const targets = checkTargets(saved.comparison, saved.scale, saved.audit);
  writeFileSync(reportPath, renderReport({ ...saved, targets }));
  log(`wrote ${path.relative(REPO_ROOT, reportPath)} from ${opts.renderFrom} (run of ${saved.date})`);
  process.exit(0);
}
const interrupt = () => {
  stopWrk();
  void stopAllChildren()
    .then(() => cleanUpAll(opts.pgUrl))
    .then(() => process.exit(130));
};
process.once('SIGINT', interrupt);
process.once('SIGTERM', interrupt);
main(opts).then(
  (code) => stopAllChildren().then(() => process.exit(code)),
  (err: unknown) => {
    log(`bench failed: ${(err as Error)?.stack ?? String(err)}`);
    void stopAllChildren().then(() => process.exit(1));
  },
);
