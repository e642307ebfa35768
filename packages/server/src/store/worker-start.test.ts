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

test('resolves with the owner once the worker is ready; an error right after ready reaches the owner', async () => {
  const url = workerFile(
    'ready-then-throw',
    `parentPort.postMessage({ ready: true });
     throw Object.assign(new Error('after ready'), { code: 'LATE' });`,
  );
  const seen: unknown[] = [];
  const exited = new Promise<number>((resolve) => {
    void startDbWorker(url, {}, (worker: Worker) => {
      // Attached in the turn the handshake ends: without it the error would be uncaught here.
      worker.on('error', (err) => seen.push(err));
      worker.on('exit', resolve);
      return worker;
    });
  });
  expect(await exited).toBe(1);
  expect(seen).toMatchObject([{ message: 'after ready' }]);
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
