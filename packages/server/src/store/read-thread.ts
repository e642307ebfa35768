import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { startDbWorker } from './worker-start.js';

/** A statement registered with {@link ReadThread.statement}. */
export type ReadStatement = number;

/** The `code` of a read rejected because the thread stopped before answering it (closed or died). */
export const READ_THREAD_STOPPED = 'READ_THREAD_STOPPED';

/** A read in the queue: statement, parameter, and who waits for its values. */
type Queued = [ReadStatement, string, (values: unknown[] | undefined) => void, (err: unknown) => void];

/** What the worker answers for one read: a row's values, no row (null), or the driver's error. */
type ReadResult = unknown[] | null | { code?: string; message?: string };

function stoppedError(reason: string, cause?: unknown): Error {
  return Object.assign(new Error(`read thread stopped: ${reason}`, { cause }), { code: READ_THREAD_STOPPED });
}

/**
 * The read thread (`read.worker.mjs`, SQLite file databases in WAL mode only): runs the hot path's
 * point reads by primary key on its own `query_only` connection, so a read that waits for the disk
 * (a page the OS no longer caches, common with uniform access over a large table) stalls that thread
 * instead of the event loop, which serves every other request meanwhile.
 *
 * Reads asked for in the same turn of the event loop cross together: one message each way per
 * batch, flushed by `setImmediate`. Each read sees the last committed state when it runs (WAL),
 * never a transaction still open on another connection. Once the thread stops (closed, or died:
 * logged with the error's code), `alive` is false and every read it had not answered is rejected
 * with code {@link READ_THREAD_STOPPED}, so callers can read on their own connection instead.
 */
export class ReadThread {
  #worker: Worker;
  #log: Logger;
  #statements = new Map<string, ReadStatement>();
  #queue: Queued[] = [];
  #scheduled = false;
  #next = 1;
  #waiting = new Map<number, Queued[]>();
  #closing: Promise<void> | undefined;
  /** False once the thread stopped (closed or died): callers then read on their own connection. */
  alive = true;

  private constructor(worker: Worker, log: Logger) {
    this.#worker = worker;
    this.#log = log;
    worker.on('message', (m: { id?: unknown; results?: unknown }) => this.#answer(m));
    worker.on('messageerror', (err) => this.#stop(stoppedError('an answer could not be read', err), true));
    worker.on('error', (err) => this.#stop(stoppedError('error', err), true));
    // After close() the exit is expected.
    worker.on('exit', (code) => this.#stop(stoppedError(`exited (${code})`), this.#closing === undefined));
    // Referenced only while reads are in flight: an idle thread never keeps the process alive.
    worker.unref();
  }

  /**
   * Starts a read thread on the SQLite database `file` (which must exist, in WAL mode: open the
   * store first) and waits until its connection is open.
   *
   * @param log where an unexpected stop is reported (the error's code only).
   * @throws Error when the thread cannot open the database or it is not in WAL mode (code `NOT_WAL`).
   */
  static async start(file: string, log: Logger): Promise<ReadThread> {
    return startDbWorker(
      new URL('./read.worker.mjs', import.meta.url),
      { file, busyTimeoutMs: 5000 },
      (worker) => new ReadThread(worker, log),
    );
  }

  /**
   * Registers `sql` (one `?` parameter; rows come back as arrays of column values) and returns its
   * handle; the same text returns the same handle. Never throws: a statement that cannot be
   * prepared fails each of its reads with the driver's error (and is prepared again at each).
   */
  statement(sql: string): ReadStatement {
    let index = this.#statements.get(sql);
    if (index === undefined) {
      index = this.#statements.size;
      this.#statements.set(sql, index);
      if (this.alive) this.#worker.postMessage({ prepare: [index, sql] });
    }
    return index;
  }

  /**
   * Runs `stmt` with `param` on the thread.
   *
   * @returns the first row's column values, or undefined when there is none.
   * @throws (rejects) the driver's error (its `code` and `message`), or code
   *   {@link READ_THREAD_STOPPED} when the thread stopped before answering.
   */
  get(stmt: ReadStatement, param: string): Promise<unknown[] | undefined> {
    return new Promise((resolve, reject) => {
      if (!this.alive || this.#closing) {
        reject(stoppedError('not running'));
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
    // After close() nothing more is sent: the thread would never answer it (rejected at its exit).
    if (!this.alive || this.#closing || this.#queue.length === 0) return;
    const reads = this.#queue;
    this.#queue = [];
    const id = this.#next++;
    if (this.#waiting.size === 0) this.#worker.ref();
    this.#waiting.set(id, reads);
    try {
      this.#worker.postMessage({ id, reads: reads.map((r) => [r[0], r[1]]) });
    } catch (err) {
      this.#stop(stoppedError('a batch could not be sent', err), true);
    }
  };

  /** Settles the reads of one answer; an answer that does not fit its batch stops the thread. */
  #answer(m: { id?: unknown; results?: unknown }): void {
    const reads = typeof m?.id === 'number' ? this.#waiting.get(m.id) : undefined;
    if (!reads) return;
    const results = m.results as ReadResult[];
    if (!Array.isArray(results) || results.length !== reads.length) {
      this.#stop(stoppedError('an answer did not match its batch'), true);
      return;
    }
    this.#waiting.delete(m.id as number);
    // Not while closing: close() keeps the thread referenced until it has exited.
    if (this.#waiting.size === 0 && this.alive && !this.#closing) this.#worker.unref();
    for (let i = 0; i < reads.length; i++) {
      const r = results[i];
      if (r === null) reads[i]![2](undefined);
      else if (Array.isArray(r)) reads[i]![2](r);
      else reads[i]![3](Object.assign(new Error(r?.message ?? 'read failed'), { code: r?.code }));
    }
  }

  /** Marks the thread stopped and rejects every read it has not answered. */
  #stop(err: Error, unexpected: boolean): void {
    if (this.alive && unexpected) {
      const code = (err.cause as { code?: string } | undefined)?.code;
      this.#log.error({ err: { code }, reason: err.message }, 'read thread stopped; reading inline');
      // A thread that misbehaved but still runs is ended; its exit then finds nothing waiting.
      void this.#worker.terminate();
    }
    this.alive = false;
    for (const reads of this.#waiting.values()) for (const r of reads) r[3](err);
    this.#waiting.clear();
    for (const r of this.#queue.splice(0)) r[3](err);
  }

  /**
   * Stops the thread and resolves once it has exited. Reads already sent are answered first; reads
   * not yet sent are rejected with code {@link READ_THREAD_STOPPED}. Calling it again returns the
   * same promise; after the thread died it resolves at once.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    if (!this.alive) return (this.#closing = Promise.resolve());
    this.#closing = new Promise<void>((r) => this.#worker.once('exit', () => r()));
    // Referenced until it has exited, so the process waits for the connection to close.
    this.#worker.ref();
    this.#worker.postMessage({ close: true });
    return this.#closing;
  }
}
