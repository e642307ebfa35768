/**
 * Scale: `/v1/forward` (bearer, 50 connections) with 10 … 1,000,000 grants and secrets stored,
 * seeded directly into the database, on SQLite and PostgreSQL, under two access patterns:
 *
 * - `uniform`: every request names a random grant among all stored ones, so at 1,000,000 nearly
 *   every call misses the server's caches (the target's verdict);
 * - `working-set`: every request names a random grant among the first {@link WORKING_SET} (or all,
 *   when fewer are stored): what the stored count alone costs calls whose grants are in use.
 */
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { runChild, tsNodeArgs } from './child.js';
import { measure, summarize, type RunSettings, type Summary, type Target } from './compare.js';
import { BENCH_TOKEN, REPO_ROOT, createBenchGrant, startLatchkey, type LatchkeyServer } from './latchkey.js';
import type { Measurement } from './load.js';
import { createDatabase } from './pg.js';
import { cleanUp, newCleanup, type Cleanup } from './cleanup.js';
import { rssMb, totalPeakRssMb } from './proc.js';
import { seededGrantId, type SeedOptions } from './seed.js';
import { shuffled } from './stats.js';
import { forwardBearerRequest } from '../variants/latchkey.js';

/** The database kinds measured. */
export type DbKind = 'sqlite' | 'postgres';

/** Which grants the requests name (see the module comment). */
export type AccessPattern = 'uniform' | 'working-set';

/** Grants in the `working-set` pattern. */
export const WORKING_SET = 1_000;

/** One size on one database under one access pattern. */
export interface ScaleResult {
  readonly db: DbKind;
  readonly size: number;
  /** Absent in results saved before the working-set pattern existed: `uniform`. */
  readonly pattern?: AccessPattern;
  /** Seconds the direct seeding took. */
  readonly seedSeconds: number;
  readonly runs: Measurement[];
  readonly summary: Summary;
  /** Peak RSS (VmHWM, start-up included) of the Latchkey process at the end of the section, MB. */
  readonly peakRssMb: number;
  /** RSS (VmRSS) of the Latchkey process at the end of the section, MB. */
  readonly endRssMb: number;
}

/** Settings of the scale section. */
export interface ScaleSettings extends Omit<RunSettings, 'connections'> {
  readonly sizes: readonly number[];
  readonly dbs: readonly DbKind[];
  readonly pgUrl: string;
  readonly rounds: number;
  readonly seed: number;
}

const PATTERNS: readonly AccessPattern[] = ['uniform', 'working-set'];

/** Seeds through `bench/seed.ts` in a child process (a million rows stay out of this heap). */
async function seedInChild(opts: Omit<SeedOptions, 'log'>, log: (m: string) => void): Promise<number> {
  const stdout = await runChild(
    'seed',
    process.execPath,
    tsNodeArgs(path.join(REPO_ROOT, 'bench', 'seed.ts')).concat([JSON.stringify(opts)]),
    { cwd: REPO_ROOT, timeoutMs: 60 * 60_000 },
  );
  const seconds = Number(/SEEDED ([\d.]+)/.exec(stdout)?.[1]);
  log(`  seeded ${opts.count} grants + secrets in ${seconds.toFixed(1)} s`);
  return seconds;
}

interface Setup {
  readonly db: DbKind;
  readonly size: number;
  readonly seedSeconds: number;
  readonly lk: LatchkeyServer;
  readonly targets: Record<AccessPattern, Target>;
}

/** Creates the database, initializes it through the API, seeds it, and restarts Latchkey on it. */
async function prepare(db: DbKind, size: number, s: ScaleSettings, cleanup: Cleanup): Promise<Setup> {
  const name = `scale-${db}-${size}`;
  s.log(`preparing ${name}`);
  const dbUrl = db === 'postgres' ? await createDatabase(s.pgUrl, `scale${size}`) : undefined;
  if (dbUrl) cleanup.dbUrls.push(dbUrl);
  const first = await startLatchkey({ name, ...(dbUrl ? { databaseUrl: dbUrl } : {}) });
  cleanup.dataDirs.push(first.dataDir);
  const tpl = await createBenchGrant(first, s.upstream.port);
  await first.child.stop();
  const seedSeconds = await seedInChild(
    {
      databaseUrl: first.databaseUrl,
      dataDir: first.dataDir,
      appId: first.init!.appId,
      templateSecretId: tpl.secretId,
      templateGrantId: tpl.grantId,
      value: BENCH_TOKEN,
      count: size,
    },
    s.log,
  );
  const lk = await startLatchkey({
    name,
    dataDir: first.dataDir,
    port: first.port,
    ...(dbUrl ? { databaseUrl: dbUrl } : {}),
  });
  const target = (pattern: AccessPattern, among: number): Target => ({
    label: `${name}${pattern === 'uniform' ? '' : `-ws${among}`}`,
    origin: lk.origin,
    request: forwardBearerRequest(first.init!.appKey, s.upstream, () => seededGrantId(randomInt(among))),
    serverPids: () => [lk.child.pid],
    loopPid: lk.child.pid,
    children: [lk.child],
  });
  return {
    db,
    size,
    seedSeconds,
    lk,
    targets: { uniform: target('uniform', size), 'working-set': target('working-set', Math.min(size, WORKING_SET)) },
  };
}

/**
 * Runs the scale section: for each database, prepares every size, then measures every size and
 * access pattern in rounds of shuffled order (50 connections) and reports medians and peak RSS
 * (over the process's life: both patterns of a size run on one process). The `working-set` pattern
 * runs only where more than {@link WORKING_SET} grants are stored; below that it is `uniform`.
 */
export async function runScale(s: ScaleSettings): Promise<ScaleResult[]> {
  const results: ScaleResult[] = [];
  for (const db of s.dbs) {
    const setups: Setup[] = [];
    const cleanup = newCleanup();
    try {
      for (const size of s.sizes) setups.push(await prepare(db, size, s, cleanup));
      // Where no more than the working set is stored, both patterns name the same grants: one run.
      const cases = setups.flatMap((x) =>
        PATTERNS.filter((p) => p === 'uniform' || x.size > WORKING_SET).map((pattern) => ({ x, pattern })),
      );
      const runs = new Map<(typeof cases)[number], Measurement[]>(cases.map((c) => [c, []]));
      for (let r = 0; r < s.rounds; r++) {
        for (const c of shuffled(cases, s.seed + 100 + r)) {
          const m = await measure(c.x.targets[c.pattern], { ...s, connections: 50 });
          if (m) runs.get(c)!.push(m);
        }
      }
      for (const c of cases) {
        const { x } = c;
        results.push({
          db,
          size: x.size,
          pattern: c.pattern,
          seedSeconds: x.seedSeconds,
          runs: runs.get(c)!,
          summary: summarize(runs.get(c)!),
          peakRssMb: totalPeakRssMb([x.lk.child.pid]),
          endRssMb: rssMb(x.lk.child.pid),
        });
      }
    } finally {
      for (const x of setups) await x.lk.child.stop();
      await cleanUp(cleanup, s.pgUrl);
    }
  }
  return results;
}
