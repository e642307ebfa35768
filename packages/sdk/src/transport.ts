/**
 * The one place the SDK talks HTTP: URL building, authentication (RFC 9421 signature or bearer),
 * timeouts, error mapping and logging. Internal: `App` and its sub-clients hold one `Transport`.
 */
import { utf8 } from './encoding.js';
import { BackendError, LatchkeyValueError, NetworkError, TimeoutError, errorFromResponse } from './errors.js';
import { deriveKeys, signRequest, type DerivedKeys } from './signing.js';
import { assertHeaderValue, assertTimeout } from './validate.js';

/** Default Latchkey address (`LATCHKEY_HOST`:`LATCHKEY_PORT` defaults, DESIGN §14). */
export const DEFAULT_BASE_URL = 'http://127.0.0.1:7070';
/** Default client-side budget per call, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 30_000;

const API_KEY = /^lk_(app|agent)_[0-9A-Za-z]{16,200}$/;

/** How requests authenticate: an RFC 9421 signature (default) or `Authorization: Bearer`. */
export type AuthMode = 'signed' | 'bearer';

/**
 * Receives one structured line per call. Fields never contain the API key, header values, bodies or
 * upstream URLs. `console` fits.
 */
export interface Logger {
  /** Per-call line: `method`, `path` (Latchkey path, no query), `status`, `durationMs`. */
  debug?(message: string, fields: Readonly<Record<string, unknown>>): void;
  /** Failures reaching Latchkey and deprecation notices. */
  warn?(message: string, fields: Readonly<Record<string, unknown>>): void;
}

/** Settings of a {@link Transport}, already defaulted. */
export interface TransportOptions {
  readonly apiKey: string;
  readonly baseUrl?: string | undefined;
  readonly timeout?: number | undefined;
  readonly caller?: string | undefined;
  readonly fetch?: typeof globalThis.fetch | undefined;
  readonly logger?: Logger | undefined;
  readonly auth?: AuthMode | undefined;
  /** Agent id sent as `latchkey-act-as` on every request (an app key acting as one of its agents). */
  readonly actAs?: string | undefined;
  /**
   * Headers for the request being sent (e.g. the `latchkey-run-id` … of the current `trace()`), read
   * at send time; a header the request already sets wins.
   */
  readonly contextHeaders?: (() => Readonly<Record<string, string>> | undefined) | undefined;
}

/** Header naming the agent an app key acts as. */
export const ACT_AS_HEADER = 'latchkey-act-as';

/** One HTTP exchange as the transport sends it. */
export interface SendInit {
  readonly method: string;
  readonly url: URL;
  /** Lowercase names; values already validated. */
  readonly headers?: Record<string, string>;
  /** Fully buffered body; signing needs the bytes. */
  readonly body?: Uint8Array<ArrayBuffer> | undefined;
  /** Required with a non-empty body. */
  readonly contentType?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly timeout?: number | undefined;
}

/** Query values; `undefined` entries are left out. */
export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

/** Options of {@link Transport.json}. */
export interface JsonCallInit {
  readonly query?: Query;
  /** Serialized with `JSON.stringify`; `undefined` sends no body. */
  readonly body?: unknown;
  /** Extra request headers (lowercase names, values already validated), e.g. `idempotency-key`. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal | undefined;
  readonly timeout?: number | undefined;
}

/** A response plus the end of the budget, so body reads stay inside it. */
export interface Sent {
  readonly response: Response;
  /** Stops the timeout timer; call once the body is consumed (or handed to the caller). */
  readonly done: () => void;
  /** Maps a body-read failure to `TimeoutError`, the caller's abort reason or `NetworkError`. */
  readonly mapError: (err: unknown) => unknown;
}

function hasCredentials(u: URL): boolean {
  return u.username !== '' || u.password !== '';
}

/** HTTP client bound to one Latchkey server and one API key. */
export class Transport {
  readonly #apiKey: string;
  readonly #base: string;
  readonly #origin: string;
  readonly #timeout: number;
  readonly #caller: string | undefined;
  readonly #fetch: typeof globalThis.fetch;
  readonly #logger: Logger | undefined;
  readonly #auth: AuthMode;
  readonly #actAs: string | undefined;
  readonly #contextHeaders: TransportOptions['contextHeaders'];
  #keys: Promise<DerivedKeys> | undefined;
  #warnedDeprecated = false;

  /** @throws {LatchkeyValueError} On a malformed API key, base URL, timeout, caller or auth mode. */
  constructor(options: TransportOptions) {
    if (typeof options.apiKey !== 'string' || !API_KEY.test(options.apiKey)) {
      throw new LatchkeyValueError('apiKey must be a Latchkey API key (lk_app_… or lk_agent_…).');
    }
    this.#apiKey = options.apiKey;
    let base: URL;
    try {
      base = new URL(options.baseUrl ?? DEFAULT_BASE_URL);
    } catch {
      throw new LatchkeyValueError('baseUrl must be an absolute http(s) URL.');
    }
    if ((base.protocol !== 'http:' && base.protocol !== 'https:') || hasCredentials(base) || base.search || base.hash) {
      throw new LatchkeyValueError('baseUrl must be an http(s) URL without credentials, query or fragment.');
    }
    this.#origin = base.origin;
    this.#base = base.origin + base.pathname.replace(/\/+$/, '');
    assertTimeout(options.timeout);
    this.#timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    if (options.caller !== undefined) {
      assertHeaderValue(options.caller, 'caller');
      if (options.caller.length === 0 || options.caller.length > 200) {
        throw new LatchkeyValueError('caller must be 1 to 200 characters.');
      }
    }
    this.#caller = options.caller;
    const auth = options.auth ?? 'signed';
    if (auth !== 'signed' && auth !== 'bearer') throw new LatchkeyValueError("auth must be 'signed' or 'bearer'.");
    this.#auth = auth;
    const f = options.fetch ?? globalThis.fetch?.bind(globalThis);
    if (typeof f !== 'function') throw new LatchkeyValueError('No fetch implementation: pass options.fetch.');
    this.#fetch = f;
    this.#logger = options.logger;
    if (
      options.actAs !== undefined &&
      (typeof options.actAs !== 'string' || !/^agt_[A-Za-z0-9]{8,64}$/.test(options.actAs))
    ) {
      throw new LatchkeyValueError('actAs must be an agent id (agt_…).');
    }
    this.#actAs = options.actAs;
    this.#contextHeaders = options.contextHeaders;
  }

  /** The default per-call budget, in milliseconds. */
  get timeout(): number {
    return this.#timeout;
  }

  /**
   * The absolute URL of a Latchkey endpoint.
   *
   * @param path Starts with `/v1/`; dynamic segments already `encodeURIComponent`-ed.
   * @param query Appended with `URLSearchParams`; `undefined` values are skipped.
   */
  endpoint(path: string, query?: Query): URL {
    const url = new URL(this.#base + path);
    if (query !== undefined) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.append(k, String(v));
      const s = qs.toString();
      if (s) url.search = s;
    }
    return url;
  }

  #derivedKeys(): Promise<DerivedKeys> {
    if (this.#keys === undefined) {
      this.#keys = deriveKeys(this.#apiKey);
      // A failed derivation (no Web Crypto) is retried on the next call instead of being cached.
      this.#keys.catch(() => {
        this.#keys = undefined;
      });
    }
    return this.#keys;
  }

  #log(level: 'debug' | 'warn', message: string, fields: Record<string, unknown>): void {
    try {
      this.#logger?.[level]?.(message, Object.freeze(fields));
    } catch {
      // A throwing logger must not change the outcome of a call.
    }
  }

  /**
   * Sends one authenticated request and resolves when the response headers arrive. The timeout keeps
   * running until `done()` so the caller's body read is inside the budget.
   *
   * @throws {TimeoutError} When the budget runs out before the headers.
   * @throws {NetworkError} When Latchkey cannot be reached.
   * @throws The caller's `signal.reason` when the caller aborts.
   */
  async send(init: SendInit): Promise<Sent> {
    const timeout = init.timeout ?? this.#timeout;
    const headers: Record<string, string> = { ...init.headers };
    const hasBody = init.body !== undefined && init.body.byteLength > 0;
    if (hasBody) headers['content-type'] = init.contentType ?? 'application/octet-stream';
    if (this.#caller !== undefined) headers['latchkey-caller'] = this.#caller;
    if (this.#actAs !== undefined) headers[ACT_AS_HEADER] = this.#actAs;
    for (const [name, value] of Object.entries(this.#contextHeaders?.() ?? {})) headers[name] ??= value;
    if (this.#auth === 'bearer') {
      headers['authorization'] = `Bearer ${this.#apiKey}`;
    } else {
      const signed = await signRequest(await this.#derivedKeys(), {
        method: init.method,
        targetUri: init.url.href,
        body: init.body,
        contentType: headers['content-type'],
        headers,
      });
      Object.assign(headers, signed);
    }

    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeout);
    const userSignal = init.signal;
    const onAbort = (): void => controller.abort(userSignal?.reason);
    if (userSignal?.aborted) {
      clearTimeout(timer);
      throw userSignal.reason;
    }
    userSignal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => clearTimeout(timer);
    const path = init.url.pathname;
    const mapError = (err: unknown): unknown => {
      done();
      if (timedOut) return new TimeoutError(timeout);
      if (userSignal?.aborted) return userSignal.reason;
      if (err instanceof BackendError) return err;
      return new NetworkError(`Could not reach Latchkey at ${this.#origin}.`, { cause: err });
    };

    const started = Date.now();
    let response: Response;
    try {
      const fetchFn = this.#fetch;
      response = await fetchFn(init.url.href, {
        method: init.method,
        headers,
        body: hasBody ? init.body : undefined,
        signal: controller.signal,
        redirect: 'manual',
      });
    } catch (err) {
      const mapped = mapError(err);
      this.#log('warn', 'latchkey request failed', {
        method: init.method,
        path,
        error: mapped instanceof NetworkError ? mapped.code : 'aborted',
        durationMs: Date.now() - started,
      });
      throw mapped;
    }
    this.#log('debug', 'latchkey request', {
      method: init.method,
      path,
      status: response.status,
      durationMs: Date.now() - started,
    });
    if (!this.#warnedDeprecated && response.headers.get('latchkey-key-deprecated') === 'true') {
      this.#warnedDeprecated = true;
      this.#log('warn', 'latchkey API key is deprecated; mint a new key and rotate', {});
    }
    return { response, done, mapError };
  }

  /**
   * Calls a JSON endpoint and maps the wire body (snake_case) with `decode`.
   *
   * @param decode Wire → result mapper; it may assume the contract's shape: a server answer that
   *   breaks it (a `TypeError` inside) becomes `BackendError` `unexpected_response`.
   * @throws {BackendError} (a subclass per `error.code`) on a Latchkey error answer.
   * @throws {TimeoutError | NetworkError} When Latchkey cannot answer in time.
   */
  async json<W, T>(method: string, path: string, init: JsonCallInit, decode: (wire: W) => T): Promise<T> {
    const wire = await this.#jsonAnswer(method, path, init);
    try {
      return decode(wire as W);
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      throw new BackendError('Latchkey answered with a body this SDK version does not understand.', {
        code: 'unexpected_response',
        cause: err,
      });
    }
  }

  async #jsonAnswer(method: string, path: string, init: JsonCallInit): Promise<unknown> {
    const body = init.body === undefined ? undefined : utf8(JSON.stringify(init.body));
    const sent = await this.send({
      method,
      url: this.endpoint(path, init.query),
      body,
      contentType: body === undefined ? undefined : 'application/json',
      headers: { ...init.headers, accept: 'application/json' },
      signal: init.signal,
      timeout: init.timeout,
    });
    let text: string;
    try {
      text = await sent.response.text();
    } catch (err) {
      throw sent.mapError(err);
    } finally {
      sent.done();
    }
    return parseJsonAnswer(sent.response, text);
  }
}

/**
 * Interprets a Latchkey JSON answer: the parsed body when 2xx, else the mapped error.
 *
 * @throws {BackendError} On an error status or a body that is not JSON.
 */
export function parseJsonAnswer(response: Response, text: string): unknown {
  let parsed: unknown;
  let isJson = true;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    isJson = false;
  }
  if (!response.ok) throw errorFromResponse(response.status, isJson ? parsed : undefined, response.headers);
  if (!isJson || parsed === undefined) {
    throw new BackendError(`Latchkey answered HTTP ${response.status} with a body that is not JSON.`, {
      code: 'unexpected_response',
      status: response.status,
    });
  }
  return parsed;
}
