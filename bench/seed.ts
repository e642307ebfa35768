/**
 * Child-process entry of the scale seeder (keeps a million rows out of the load generator's heap).
 *
 * Usage: node --conditions=source --import tsx bench/seed.ts '<SeedOptions as JSON>'
 * Prints `SEEDED <seconds>` when done.
 */
import { seed, type SeedOptions } from './lib/seed.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as SeedOptions;
const seconds = await seed({ ...opts, log: (m) => process.stderr.write(`${m}\n`) });
process.stdout.write(`SEEDED ${seconds}\n`);
