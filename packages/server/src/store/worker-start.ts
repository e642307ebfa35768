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
 * @param wrap builds the caller's owner object (which attaches its own `message`, `error` and
 *   `exit` listeners); called in the same turn as the handshake ends, before the handshake's own
 *   listeners are removed, so an error right after `ready` always finds a listener.
 * @returns what `wrap` returned.
 * @throws Error the worker's own error (for example the driver's, with its `code`), or an error
 *   with code `EXIT` when it exited before it was ready. Either way the thread has exited by then.
 */
export async function startDbWorker<T>(
  url: URL,
  workerData: Record<string, unknown>,
  wrap: (worker: Worker) => T,
): Promise<T> {
  const worker = new Worker(url, { workerData, execArgv: [] });
  return new Promise<T>((resolve, reject) => {
    let firstError: unknown;
    const detach = () => {
      worker.off('message', ready);
      worker.off('error', failed);
      worker.off('exit', exited);
    };
    // An error comes before the exit: keep it, and reject once the thread has exited. A driver
    // error thrown in the worker (a custom Error subclass) arrives as a plain object: its code and
    // message are kept in an Error.
    const failed = (err: unknown) => {
      if (firstError !== undefined) return;
      const e = err as { code?: unknown; message?: unknown } | undefined;
      firstError =
        err instanceof Error
          ? err
          : Object.assign(new Error(typeof e?.message === 'string' ? e.message : 'worker failed'), {
              code: typeof e?.code === 'string' ? e.code : undefined,
            });
    };
    const exited = (code: number) => {
      detach();
      reject(firstError ?? Object.assign(new Error(`worker exited (${code}) before it was ready`), { code: 'EXIT' }));
    };
    const ready = (m: { ready?: boolean } | undefined) => {
      if (!m?.ready || firstError !== undefined) return;
      let owner: T;
      try {
        owner = wrap(worker);
      } catch (err) {
        // Nothing owns the thread: end it, and fail once it has exited.
        firstError = err;
        void worker.terminate();
        return;
      }
      detach();
      resolve(owner);
    };
    worker.on('message', ready);
    worker.on('error', failed);
    worker.on('exit', exited);
  });
}
