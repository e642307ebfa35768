// Whether the compiled build (`npm run build`, run by `npm install`) is current: every built
// package has a build stamp (dist/.build-stamp; the SDK's dist/index.js) strictly newer than every
// file of its src/. Used by bin/latchkey.mjs.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** The workspaces the launcher runs compiled, including the SDK the CLI's client commands use. */
export const BUILT_PACKAGES = ['api', 'providers', 'server', 'cli', 'sdk'];

/** The file whose time stands for a package's build: the SDK is built by tsup, the rest by scripts/build.mjs. */
const STAMPS = { sdk: 'index.js' };

/** Newest modification time (ms) of the files under `dir`. */
function newest(dir) {
  let max = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    max = Math.max(max, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return max;
}

/**
 * @param {string} packagesDir the monorepo's `packages/` folder.
 * @param {readonly string[]} names packages to check.
 * @returns {boolean} true when every package's build stamp is at least as new as its sources.
 */
export function builtIsCurrent(packagesDir, names = BUILT_PACKAGES) {
  try {
    return names.every((name) => {
      const stamp = statSync(path.join(packagesDir, name, 'dist', STAMPS[name] ?? '.build-stamp')).mtimeMs;
      // Strictly newer: a source saved in the same clock tick as the build counts as edited after it.
      return stamp > newest(path.join(packagesDir, name, 'src'));
    });
  } catch {
    return false;
  }
}
