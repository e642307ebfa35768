import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { LatchkeyError } from '../../../errors.js';
import { EgressDeniedError } from '../egress.js';
import type { HeaderMap } from '../proxy.types.js';

/** Receives the upstream response. `start` may be async (e.g. an audit commit): the body waits. */
export interface UpstreamSink {
  start(statusCode: number, headers: Record<string, string | string[] | undefined>): Promise<void> | void;
  /** @returns false to pause until `resume()` is called. */
  data(chunk: Buffer): boolean;
  end(): void;
  /** An error before `start` is a LatchkeyError to send to the caller; after it, the stream is cut. */
  error(err: LatchkeyError, afterStart: boolean): void;
}

/** Control a sink uses to pause or abort the upstream body. */
export interface UpstreamControl {
  resume(): void;
  abort(): void;
}

/**
 * Maps a transport error to a typed Latchkey error (never quoting the URL):
 * timeouts → `upstream_timeout` (504); egress refusals → `egress_denied` (403); anything else → `upstream_unreachable` (502).
 */
export function mapUpstreamError(err: unknown): LatchkeyError {
  if (err instanceof LatchkeyError) return err;
  if (err instanceof EgressDeniedError) return new LatchkeyError('egress_denied');
  const code = (err as { code?: string }).code ?? '';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new LatchkeyError('upstream_timeout', { details: { cause: code } });
  }
  return new LatchkeyError('upstream_unreachable', { details: code ? { cause: code } : undefined });
}

/** Body bytes held while an asynchronous `start` is pending before the upstream is paused. */
const HOLD_BYTES = 64 * 1024;

/**
 * Step 9: sends the request upstream through the egress-guarded dispatcher, with no redirect
 * following (a 3xx goes back to the caller as-is), streaming the response into `sink`.
 *
 * @param dispatcher the egress agent.
 * @param req method, URL, headers and body (bytes, a stream, or null).
 * @returns control to resume a paused body or abort.
 */
export function forwardUpstream(
  dispatcher: Dispatcher,
  req: { method: string; url: URL; headers: HeaderMap; body: Buffer | Readable | null },
  sink: UpstreamSink,
): UpstreamControl {
  let controller: Dispatcher.DispatchController | undefined;
  let started = false;
  let failed = false;
  // While an asynchronous `start` (the synchronous audit commit) is pending, body chunks are held
  // here rather than pausing the upstream: most responses arrive whole right after their headers,
  // and a pause/resume round costs more than holding one chunk. Past HOLD_BYTES the upstream is
  // paused as before.
  let held: Buffer[] | null = null;
  let heldBytes = 0;
  let endHeld = false;
  let pausedWhileHeld = false;
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(c) {
      controller = c;
    },
    onResponseStart(c, statusCode, headers) {
      if (statusCode < 200) return; // 1xx informational
      started = true;
      const r = sink.start(statusCode, headers);
      if (r && typeof (r as Promise<void>).then === 'function') {
        held = [];
        (r as Promise<void>).then(
          () => {
            const chunks = held!;
            held = null;
            if (failed) return;
            let pause = false;
            for (const chunk of chunks) if (!sink.data(chunk)) pause = true;
            if (endHeld) {
              sink.end();
              return;
            }
            // The sink asked for a pause while draining the held chunks: it resumes us on 'drain'.
            if (pausedWhileHeld && !pause) c.resume();
            else if (!pausedWhileHeld && pause) c.pause();
          },
          (err: unknown) => {
            failed = true;
            held = null;
            c.abort(err instanceof Error ? err : new Error('aborted'));
          },
        );
      }
    },
    onResponseData(c, chunk) {
      if (failed) return;
      if (held) {
        held.push(chunk);
        heldBytes += chunk.length;
        if (heldBytes > HOLD_BYTES && !pausedWhileHeld) {
          pausedWhileHeld = true;
          c.pause();
        }
        return;
      }
      if (!sink.data(chunk)) c.pause();
    },
    onResponseEnd() {
      if (failed) return;
      if (held) endHeld = true;
      else sink.end();
    },
    onResponseError(_c, err) {
      if (failed) return;
      failed = true;
      held = null;
      sink.error(mapUpstreamError(err), started);
    },
  };
  dispatcher.dispatch(
    {
      origin: req.url.origin,
      path: `${req.url.pathname}${req.url.search}`,
      method: req.method as Dispatcher.HttpMethod,
      headers: req.headers as Record<string, string | string[]>,
      body: req.body,
    },
    handler,
  );
  return {
    resume: () => controller?.resume(),
    abort: () => {
      failed = true;
      controller?.abort(new Error('aborted by Latchkey'));
    },
  };
}
