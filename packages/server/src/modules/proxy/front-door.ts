import type { FastifyReply, FastifyRequest } from 'fastify';
import { FORWARD_HEADERS } from '@latchkey/api';
import { LatchkeyError } from '../../errors.js';
import { sendError, toLatchkeyError } from '../../http/error-handler.js';
import type { ProxyInput, ProxyService } from './proxy.service.js';
import { checkCaller } from './steps/check-caller.js';
import type { ProxyCall, TraceFields } from './proxy.types.js';
import { responseHeaders } from './steps/respond.js';

// Helpers shared by the streaming front doors (`/v1/forward` and the `/gw` gateway): they read the
// same optional `latchkey-*` headers and answer through the same hijacked, streaming responder.

/** The first value of a possibly repeated header. */
export function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The trace headers (`latchkey-run-id`, …) of a request, each bounded to 200 characters (audit only). */
export function traceOf(headers: FastifyRequest['headers']): TraceFields {
  return {
    runId: bounded(headers[FORWARD_HEADERS.runId]),
    threadId: bounded(headers[FORWARD_HEADERS.threadId]),
    tool: bounded(headers[FORWARD_HEADERS.tool]),
    role: bounded(headers[FORWARD_HEADERS.role]),
  };
}

function bounded(v: string | string[] | undefined): string | null {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined ? null : s.length > 200 ? s.slice(0, 200) : s;
}

/**
 * Parses the `latchkey-context` header: a JSON object of at most 20 short strings.
 *
 * @returns the map, or null when the header is absent.
 * @throws LatchkeyError `invalid_request`.
 */
export function parseContext(raw: string | undefined): Record<string, string> | null {
  if (raw === undefined) return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    v = undefined;
  }
  const ok =
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    Object.keys(v).length <= 20 &&
    Object.entries(v).every(([k, x]) => k.length >= 1 && k.length <= 64 && typeof x === 'string' && x.length <= 256);
  if (!ok)
    throw new LatchkeyError('invalid_request', {
      message: 'latchkey-context must be a JSON object of at most 20 short strings.',
      details: { header: FORWARD_HEADERS.context },
    });
  return v as Record<string, string>;
}

/** Whether the request announces a body (a non-zero `content-length` or any `transfer-encoding`). */
export function hasRequestBody(request: FastifyRequest): boolean {
  const h = request.headers;
  return (h['content-length'] !== undefined && h['content-length'] !== '0') || h['transfer-encoding'] !== undefined;
}

/**
 * Reads the whole request body (used for signed requests, whose Content-Digest is verified before
 * any byte goes upstream).
 *
 * @param limit maximum bytes (`LATCHKEY_MAX_BODY_BYTES`).
 * @throws LatchkeyError `payload_too_large`.
 */
export async function readBody(request: FastifyRequest, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.raw) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new LatchkeyError('payload_too_large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * The input of a streaming door once its caller is authenticated (step 1), every field set (one
 * object shape through the pipeline). The door's checks fill in the grant, target and context.
 */
export function streamingInput(
  auth: ProxyInput['auth'],
  frontDoor: 'forward' | 'gateway',
  request: FastifyRequest,
): ProxyInput {
  const reason = one(request.headers[FORWARD_HEADERS.reason]);
  return {
    auth,
    frontDoor,
    method: request.method,
    url: null,
    gateway: undefined,
    grantId: '',
    byProvider: undefined,
    headers: {},
    body: undefined,
    reason: reason === undefined ? null : reason.slice(0, 500),
    context: null,
    trace: traceOf(request.headers),
  };
}

/**
 * A streaming door after authentication: step 2 (the caller's scope), then the door's own checks of
 * its input (`check`, which fills in `input`), then steps 4–11. A refusal by either check is audited
 * (`proxy.request.denied`) and thrown.
 *
 * @throws LatchkeyError from the checks or `proxy.prepare`.
 */
export async function serveStreaming(
  proxy: Pick<ProxyService, 'prepare' | 'forward' | 'auditCompleted' | 'auditDenied'>,
  input: ProxyInput,
  check: () => void,
  body: Buffer | NodeJS.ReadableStream | null,
  reply: FastifyReply,
): Promise<void> {
  try {
    // Step 2 before step 3: an under-scoped key learns nothing about its input.
    checkCaller(input.auth);
    check();
  } catch (err) {
    await proxy.auditDenied(input, toLatchkeyError(err));
    throw err;
  }
  input.body = body as ProxyInput['body'];
  const call = await proxy.prepare(input);
  streamToCaller(proxy, call, body, reply);
}

/**
 * Steps 9–11 for a streaming front door: hijacks the reply, forwards the prepared call, commits the
 * audit row when the upstream's headers arrive (before anything is released), then streams the
 * upstream status, headers (echoes redacted) and body back with backpressure. An upstream failure
 * before the headers is audited and answered with the typed error; after them, the connection is cut.
 * A caller that goes away aborts the upstream request.
 *
 * @param proxy the pipeline (`forward`, `auditCompleted`).
 * @param call the call returned by `proxy.prepare`.
 * @param body the request body: buffered bytes, the raw request stream, or null.
 */
export function streamToCaller(
  proxy: Pick<ProxyService, 'forward' | 'auditCompleted'>,
  call: ProxyCall,
  body: Buffer | NodeJS.ReadableStream | null,
  reply: FastifyReply,
): void {
  reply.hijack();
  const res = reply.raw;
  let done = false;
  let waitingDrain = false;
  const control = proxy.forward(call, body as Buffer | null, {
    async start(statusCode, headers) {
      try {
        await proxy.auditCompleted(call, statusCode, null);
      } catch (err) {
        sendError(reply, toLatchkeyError(err));
        throw err;
      }
      const out = responseHeaders(headers, call.redact ?? []);
      out['x-request-id'] = reply.request.id;
      const extra = reply.getHeader('latchkey-key-deprecated');
      if (extra) out['latchkey-key-deprecated'] = String(extra);
      res.writeHead(statusCode, out);
    },
    data(chunk) {
      const ok = res.write(chunk);
      // One 'drain' listener per pause, however many writes reported a full buffer meanwhile.
      if (!ok && !waitingDrain) {
        waitingDrain = true;
        res.once('drain', () => {
          waitingDrain = false;
          control.resume();
        });
      }
      return ok;
    },
    end() {
      done = true;
      res.end();
    },
    error(err, afterStart) {
      done = true;
      if (afterStart) {
        res.destroy();
        return;
      }
      proxy.auditCompleted(call, null, err.code).then(
        () => sendError(reply, err),
        (auditErr: unknown) => sendError(reply, toLatchkeyError(auditErr)),
      );
    },
  });
  res.on('close', () => {
    if (!done) control.abort();
  });
}
