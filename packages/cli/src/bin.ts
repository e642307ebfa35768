#!/usr/bin/env node
import { run } from './main.js';

const code = await run(process.argv);
// `serve` and `audit tail --follow` keep running; everything else exits with its code.
if (code !== 0) process.exit(code);
