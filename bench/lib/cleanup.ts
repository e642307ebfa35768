/** Removal of what a bench section created: PostgreSQL databases and data dirs. */
import { rmSync } from 'node:fs';
import { dropDatabase } from './pg.js';

/** What a section leaves behind and must remove. */
export interface Cleanup {
  readonly dbUrls: string[];
  readonly dataDirs: string[];
}

/** Drops the databases and removes the data dirs of a section. */
export async function cleanUp(c: Cleanup, pgUrl: string): Promise<void> {
  for (const url of c.dbUrls.splice(0)) await dropDatabase(pgUrl, url);
  for (const dir of c.dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
