import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { afterAll, expect, test } from 'vitest';
import { startDbWorker } from './worker-start.js';

const dir = mkdtempSync(path.join(tmpdir(), 'lk-worker-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A worker module with `body` after the worker_threads import, as a file URL. */
function workerFile(name: string, body: string): URL {
  const file = path.join(dir, `${name}.mjs`);
  writeFileSync(file, `import { parentPort } from 'node:worker_threads';\n${body}\n`);
  return pathToFileURL(file);
}

test('an error thrown right after ready is handled once: by the owner, or as the failed start', async () => {
  const url = workerFile(
    'ready-then-throw',
    `parentPort.postMessage({ ready: true });
     throw Object.assign(new Error('after ready'), { code: 'LATE' });`,
  );
  // Node delivers the worker's error and its messages on different ports, so either comes first.
  // Ready first: the owner, built in that turn, has its listener when the error follows at once
  // (without it the error is uncaught and fails the run). Error first: the start fails with it.
  const seen: unknown[] = [];
  const outcome = await new Promise<{ exitCode: number } | { rejected: unknown }>((resolve) => {
    startDbWorker(url, {}, (worker: Worker) => {
      worker.on('error', (err) => seen.push(err));
      worker.on('exit', (exitCode) => resolve({ exitCode }));
      return worker;
    }).catch((rejected: unknown) => resolve({ rejected }));
    // Busy until the worker has posted, thrown and exited: Node then hands over the ready message
    // and the error in one synchronous call as it handles the exit.
    const until = Date.now() + 1000;
    while (Date.now() < until);
  });
  if ('rejected' in outcome) {
    expect(outcome.rejected).toMatchObject({ message: 'after ready', code: 'LATE' });
    expect(seen).toEqual([]);
  } else {
    expect(outcome.exitCode).toBe(1);
    expect(seen).toMatchObject([{ message: 'after ready', code: 'LATE' }]);
  }
});

test('a worker that fails before it is ready rejects with its error, code kept, once it has exited', async () => {
  const url = workerFile(
    'throw-before-ready',
    `class DriverError extends Error { constructor(m) { super(m); this.code = 'SQLITE_CANTOPEN'; } }
     throw new DriverError('unable to open database file');`,
  );
  let built = false;
  const err = await startDbWorker(url, {}, () => (built = true)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  expect(err).toMatchObject({ code: 'SQLITE_CANTOPEN', message: 'unable to open database file' });
  expect(built).toBe(false);
});

test('a worker that exits before it is ready rejects with code EXIT', async () => {
  const url = workerFile('exit-before-ready', `process.exit(3);`);
  await expect(startDbWorker(url, {}, () => 'owner')).rejects.toMatchObject({ code: 'EXIT' });
});

test('messages other than ready are ignored, and the owner is built once', async () => {
  const url = workerFile(
    'noise-then-ready',
    `parentPort.postMessage({ id: 1 });
     parentPort.postMessage('text');
     parentPort.postMessage({ ready: true });
     setTimeout(() => process.exit(0), 50);`,
  );
  let built = 0;
  const worker = await startDbWorker(url, {}, (w: Worker) => {
    built += 1;
    return w;
  });
  expect(built).toBe(1);
  expect(await new Promise((r) => worker.once('exit', r))).toBe(0);
});

test('an owner that cannot be built ends the thread and fails the start with its error', async () => {
  const url = workerFile('ready-and-stay', `parentPort.postMessage({ ready: true }); setInterval(() => {}, 1000);`);
  await expect(
    startDbWorker(url, {}, () => {
      throw new Error('owner failed');
    }),
  ).rejects.toThrow('owner failed');
});
