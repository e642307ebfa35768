/**
 * Audit cost: `/v1/forward` (bearer, 50 connections) with `LATCHKEY_AUDIT_MODE=sync` against
 * `async`, on SQLite and on PostgreSQL; rounds in shuffled order, medians.
 */
import { cleanUp, newCleanup } from './cleanup.js';
import { measure, summarize, type RunSettings, type Summary, type Target } from './compare.js';
import { createBenchGrant, startLatchkey, type LatchkeyServer } from './latchkey.js';
import type { Measurement } from './load.js';
import { createDatabase } from './pg.js';
import { totalPeakRssMb } from './proc.js';
import type { DbKind } from './scale.js';
import { shuffled } from './stats.js';
import { forwardBearerRequest } from '../variants/latchkey.js';

/** One audit mode on one database. */
export interface AuditResult {
  readonly db: DbKind;
  readonly mode: 'sync' | 'async';
  readonly runs: Measurement[];
  readonly summary: Summary;
  readonly peakRssMb: number;
}

/** Settings of the audit section. */
export interface AuditSettings extends Omit<RunSettings, 'connections'> {
  readonly dbs: readonly DbKind[];
  readonly pgUrl: string;
  readonly rounds: number;
  readonly seed: number;
}

/** Runs the audit section. */
export async function runAudit(s: AuditSettings): Promise<AuditResult[]> {
  const cleanup = newCleanup();
  const setups: { db: DbKind; mode: 'sync' | 'async'; lk: LatchkeyServer; target: Target }[] = [];
  try {
    for (const db of s.dbs) {
      for (const mode of ['sync', 'async'] as const) {
        const name = `audit-${db}-${mode}`;
        s.log(`starting ${name}`);
        const dbUrl = db === 'postgres' ? await createDatabase(s.pgUrl, `audit${mode}`) : undefined;
        if (dbUrl) cleanup.dbUrls.push(dbUrl);
        const lk = await startLatchkey({ name, auditMode: mode, ...(dbUrl ? { databaseUrl: dbUrl } : {}) });
        cleanup.dataDirs.push(lk.dataDir);
        const { grantId } = await createBenchGrant(lk, s.upstream.port);
        setups.push({
          db,
          mode,
          lk,
          target: {
            label: name,
            origin: lk.origin,
            request: forwardBearerRequest(lk.init!.appKey, s.upstream, grantId),
            serverPids: () => [lk.child.pid],
            loopPid: lk.child.pid,
            children: [lk.child],
          },
        });
      }
    }
    const runs = new Map<(typeof setups)[number], Measurement[]>(setups.map((x) => [x, []]));
    for (let r = 0; r < s.rounds; r++) {
      for (const x of shuffled(setups, s.seed + 200 + r)) {
        const m = await measure(x.target, { ...s, connections: 50 });
        if (m) runs.get(x)!.push(m);
      }
    }
    return setups.map((x) => ({
      db: x.db,
      mode: x.mode,
      runs: runs.get(x)!,
      summary: summarize(runs.get(x)!),
      peakRssMb: totalPeakRssMb([x.lk.child.pid]),
    }));
  } finally {
    for (const x of setups) await x.lk.child.stop();
    await cleanUp(cleanup, s.pgUrl);
  }
}
