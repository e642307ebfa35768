// Builds the server-side workspaces (api, providers, server, cli) from TypeScript to JavaScript in
// each package's dist/, so `latchkey serve` runs plain Node.js instead of compiling TypeScript at
// every start (faster start, ~40 MB less memory, no loader on the request path). Type checking is
// separate (`npm run typecheck`); this only transpiles, with esbuild, one file per source file.
//
// Usage: node scripts/build.mjs        (run by `npm run build` and by `prepare` on npm install)
// Writes dist/.build-stamp last: the CLI launcher runs dist only when that stamp is newer than
// every source file, and falls back to the TypeScript sources otherwise (a source edited after
// the build is never shadowed by stale JavaScript).
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const PACKAGES = ['api', 'providers', 'server', 'cli'];

/** Source files of a package: `.ts` except tests, and plain `.mjs` assets (worker entry points). */
function sources(dir, out = { ts: [], assets: [] }) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) out.ts.push(p);
    else if (e.name.endsWith('.mjs')) out.assets.push(p);
  }
  return out;
}

for (const name of PACKAGES) {
  const pkg = path.join(root, 'packages', name);
  const src = path.join(pkg, 'src');
  const dist = path.join(pkg, 'dist');
  rmSync(dist, { recursive: true, force: true });
  const { ts, assets } = sources(src);
  await build({
    entryPoints: ts,
    outdir: dist,
    outbase: src,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
  for (const a of assets) {
    const to = path.join(dist, path.relative(src, a));
    mkdirSync(path.dirname(to), { recursive: true });
    cpSync(a, to);
  }
  writeFileSync(path.join(dist, '.build-stamp'), `${new Date().toISOString()}\n`);
  console.log(`built packages/${name}: ${ts.length} modules${assets.length ? `, ${assets.length} assets` : ''}`);
}
