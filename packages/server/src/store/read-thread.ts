import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';

/** A statement registered with {@link ReadThread.statement}. */
export type ReadStatement = number;

/** A read in the queue: statement, parameter, and who waits for its values. */
type Queued = [ReadStatement, string, (values: unknown[] | undefined) => void, (err: unknown) => void];

/**
 * The read thread (`read.worker.mjs`, SQLite file databases only): runs the hot path's point reads by
 * primary key on its own `query_only` connection, so a read that waits for the disk (a page the OS
 * no longer caches, common with uniform access over a large table) stalls that thread instead of the
 * event loop, which serves every other request meanwhile.
 *
 * Reads asked for in the same turn of the event loop cross together: one message each way per
 * batch, flushed by `setImmediate`. Each read sees the last committed state when it runs (WAL),
 * never a transaction still open on another connection. If the thread dies, `alive` turns false,
 * the reads it held are rejected, and callers read on their own connection again.
 */
export class ReadThread {
  #worker: Worker;
  #statements = new Map<string, ReadStatement>();
  #queue: Queued[] = [];
  #scheduled = false;
  #next = 1;
  #waiting = new Map<number, Queued[]>();
  /** False once the thread stopped (closed or died): callers then read on their own connection. */
  alive = true;

  private constructor(worker: Worker, log: Logger) {
    this.#worker = worker;
    worker.on('message', (m: { id: number; results: (unknown[] | null | { code?: string; message?: string })[] }) => {
      const reads = this.#waiting.get(m.id);
      if (!reads) return;
      this.#waiting.delete(m.id);
      if (this.#waiting.size === 0) this.#worker.unref();
      for (let i = 0; i < reads.length; i++) {
        const r = m.results[i];
        if (r === null) reads[i]![2](undefined);
        else if (Array.isArray(r)) reads[i]![2](r);
        else reads[i]![3](Object.assign(new Error(r?.message ?? 'read failed'), { code: r?.code }));
      }
    });
    const stopped = (err: Error & { code?: string }, unexpected: boolean) => {
      if (this.alive && unexpected) log.error({ err: { code: err.code } }, 'read thread stopped; reading inline');
      this.alive = false;
      for (const reads of this.#waiting.values()) for (const r of reads) r[3](err);
      this.#waiting.clear();
      for (const r of this.#queue.splice(0)) r[3](err);
    };
    worker.on('error', (err: Error & { code?: string }) => stopped(err, true));
    worker.on('exit', (code) =>
      stopped(Object.assign(new Error(`read thread exited (${code})`), { code: 'EXIT' }), this.alive),
    );
    // Referenced only while reads are in flight: an idle thread never keeps the process alive.
    worker.unref();
  }

  /**
   * Starts a read thread on the SQLite database `file` (which must exist: open the store first).
   *
   * @param log where an unexpected stop is reported (the error's code only).
   * @throws Error when the thread cannot open the database.
   */
  static async start(file: string, log: Logger): Promise<ReadThread> {
    const worker = new Worker(new URL('./read.worker.mjs', import.meta.url), {
      workerData: { file, busyTimeoutMs: 5000 },
      // The worker is plain JavaScript: no TypeScript loader, no inherited `--import`.
      execArgv: [],
    });
    await new Promise<void>((resolve, reject) => {
      worker.once('online', resolve);
      worker.once('error', reject);
    });
    return new ReadThread(worker, log);
  }

  /**
   * Registers `sql` (one `?` parameter; rows come back as arrays of column values) and returns its
   * handle; the same text returns the same handle. A statement that cannot be prepared fails each
   * of its reads with the driver's error.
   */
  statement(sql: string): ReadStatement {
    let index = this.#statements.get(sql);
    if (index === undefined) {
      index = this.#statements.size;
      this.#statements.set(sql, index);
      this.#worker.postMessage({ prepare: [index, sql] });
    }
    return index;
  }

  /**
   * Runs `stmt` with `param` on the thread.
   *
   * @returns the first row's column values, or undefined when there is none.
   * @throws (rejects) the driver's error (`code`, `message`), or code `EXIT` when the thread stops
   *   before answering.
   */
  get(stmt: ReadStatement, param: string): Promise<unknown[] | undefined> {
    return new Promise((resolve, reject) => {
      if (!this.alive) {
        reject(Object.assign(new Error('read thread stopped'), { code: 'EXIT' }));
        return;
      }
      this.#queue.push([stmt, param, resolve, reject]);
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  /** Sends the reads queued in this turn of the event loop as one message. */
  #flush = (): void => {
    this.#scheduled = false;
    if (!this.alive || this.#queue.length === 0) return;
    const reads = this.#queue;
    this.#queue = [];
    const id = this.#next++;
    if (this.#waiting.size === 0) this.#worker.ref();
    this.#waiting.set(id, reads);
    this.#worker.postMessage({ id, reads: reads.map((r) => [r[0], r[1]]) });
  };

  /** Stops the thread; reads still waiting are rejected (code `EXIT`). */
  async close(): Promise<void> {
    if (!this.alive) return;
    this.alive = false;
    const exited = new Promise((r) => this.#worker.once('exit', r));
    this.#worker.ref();
    this.#worker.postMessage({ close: true });
    await exited;
  }
}
