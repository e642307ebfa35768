import { Worker } from 'node:worker_threads';

/**
 * Starts a database worker thread (plain JavaScript, run outside any TypeScript loader) and waits
 * for its handshake: the worker posts `{ ready: true }` once its own connection is open and its
 * statements are prepared. Used by the read thread (`read.worker.mjs`) and the audit threads
 * (`audit.worker.mjs`), so a thread that cannot open the database fails its `start()` instead of
 * dying after the caller has started relying on it.
 *
 * @param url the worker module's file URL.
 * @param workerData what the worker reads from `workerData` (structured-cloneable).
 * @returns the running worker, its handshake listeners removed.
 * @throws Error the worker's own error (for example the driver's `SQLITE_CANTOPEN`, with its
 *   `code`), or an error saying it exited before it was ready; the worker has then ended.
 */
export async function startDbWorker(url: URL, workerData: Record<string, unknown>): Promise<Worker> {
  const worker = new Worker(url, { workerData, execArgv: [] });
  await new Promise<void>((resolve, reject) => {
    const failed = (err: unknown) => {
      worker.off('message', ready);
      worker.off('error', failed);
      worker.off('exit', failed);
      reject(err instanceof Error ? err : new Error(`worker exited (${String(err)}) before it was ready`));
    };
    const ready = (m: { ready?: boolean } | undefined) => {
      if (!m?.ready) return;
      worker.off('message', ready);
      worker.off('error', failed);
      worker.off('exit', failed);
      resolve();
    };
    worker.on('message', ready);
    worker.on('error', failed);
    worker.on('exit', failed);
  });
  return worker;
}
