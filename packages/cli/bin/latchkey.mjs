#!/usr/bin/env node
// Entry point of the `latchkey` command: runs the CLI's TypeScript sources through tsx.
import { register } from 'node:module';

register('./source-condition.mjs', import.meta.url);
const { register: registerTsx } = await import('tsx/esm/api');
registerTsx();
await import('../src/bin.ts');
