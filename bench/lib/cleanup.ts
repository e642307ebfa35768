/** Removal of what a bench section created: PostgreSQL databases and data dirs. */
import { rmSync } from 'node:fs';
import { dropDatabase } from './pg.js';

/** What a section leaves behind and must remove. */
export interface Cleanup {
  readonly dbUrls: string[];
  readonly dataDirs: string[];
}

const pending = new Set<Cleanup>();

/** A new, registered cleanup list (so an interrupted run can still remove what it made). */
export function newCleanup(): Cleanup {
  const c: Cleanup = { dbUrls: [], dataDirs: [] };
  pending.add(c);
  return c;
}

/** Drops the databases and removes the data dirs of a section. */
export async function cleanUp(c: Cleanup, pgUrl: string): Promise<void> {
  for (const url of c.dbUrls.splice(0)) await dropDatabase(pgUrl, url);
  for (const dir of c.dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  pending.delete(c);
}

/** Cleans up every registered list (on interrupt; errors are ignored). */
export async function cleanUpAll(pgUrl: string): Promise<void> {
  for (const c of [...pending]) await cleanUp(c, pgUrl).catch(() => {});
}
