/**
 * Scale: `/v1/forward` (bearer, 50 connections) with 10 … 1,000,000 grants and secrets stored,
 * seeded directly into the database, on SQLite and PostgreSQL. Every request names a random grant
 * among all of them, so the server's caches cannot hide the size.
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

/** One size on one database. */
export interface ScaleResult {
  readonly db: DbKind;
  readonly size: number;
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
  readonly target: Target;
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
  return {
    db,
    size,
    seedSeconds,
    lk,
    target: {
      label: name,
      origin: lk.origin,
      request: forwardBearerRequest(first.init!.appKey, s.upstream, () => seededGrantId(randomInt(size))),
      serverPids: () => [lk.child.pid],
      children: [lk.child],
    },
  };
}

/**
 * Runs the scale section: for each database, prepares every size, then measures them in rounds of
 * shuffled order (50 connections, random grants) and reports medians and peak RSS.
 */
export async function runScale(s: ScaleSettings): Promise<ScaleResult[]> {
  const results: ScaleResult[] = [];
  for (const db of s.dbs) {
    const setups: Setup[] = [];
    const cleanup = newCleanup();
    try {
      for (const size of s.sizes) setups.push(await prepare(db, size, s, cleanup));
      const runs = new Map<Setup, Measurement[]>(setups.map((x) => [x, []]));
      for (let r = 0; r < s.rounds; r++) {
        for (const x of shuffled(setups, s.seed + 100 + r)) {
          const m = await measure(x.target, { ...s, connections: 50 });
          if (m) runs.get(x)!.push(m);
        }
      }
      for (const x of setups) {
        results.push({
          db,
          size: x.size,
          seedSeconds: x.seedSeconds,
          runs: runs.get(x)!,
          summary: summarize(runs.get(x)!),
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
