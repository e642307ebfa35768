#!/usr/bin/env node
// Entry point of the `latchkey` command. Runs the compiled JavaScript (`npm run build`, done by
// `npm install`) when it is current, else the TypeScript sources through tsx: a source edited
// after the last build is never shadowed by stale JavaScript. LATCHKEY_FROM_SOURCE=1 forces the
// sources. LATCHKEY_RUNTIME tells the process which one runs (`serve` prints it).
import { register } from 'node:module';
import path from 'node:path';
import { builtIsCurrent } from './build-state.mjs';

if (process.env.LATCHKEY_FROM_SOURCE !== '1' && builtIsCurrent(path.resolve(import.meta.dirname, '..', '..'))) {
  process.env.LATCHKEY_RUNTIME = 'compiled';
  await import('../dist/bin.js');
} else {
  process.env.LATCHKEY_RUNTIME = 'source';
  register('./source-condition.mjs', import.meta.url);
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  await import('../src/bin.ts');
}
