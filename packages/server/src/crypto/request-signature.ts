/**
 * Server side of the Latchkey request-signing profile: RFC 9421 HTTP Message Signatures with
 * `hmac-sha256`, plus RFC 9530 `Content-Digest: sha-256=:…:` for bodies (DESIGN §5). The pure
 * string building lives in `@latchkey/api` (`signing.ts`) and is shared with the SDK.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseDictionary, type Dictionary, type InnerList, type Item } from 'structured-headers';
import {
  COVERED_COMPONENTS_WITH_BODY,
  COVERED_COMPONENTS_WITHOUT_BODY,
  DEFAULT_SIGNATURE_TTL_SECONDS,
  MAX_SIGNATURE_TTL_SECONDS,
  SIGNATURE_ALG,
  SIGNATURE_LABEL,
  SIGNATURE_NONCE_LENGTH,
  SIGNATURE_TAG,
  buildRequestSignatureBase,
  buildSignatureBase,
  formatContentDigest,
  formatSignatureHeader,
  formatSignatureInput,
  latchkeyCoveredComponents,
  latchkeyHeaderEntries,
  isLatchkeyHeader,
  type SignatureParamValue,
} from '@latchkey/api';
import { SignatureError } from './errors.js';
import { parseProfileSignature, parseProfileSignatureInput } from './signature-fields.js';
import { hmacSha256 } from './tokens.js';

const HMAC_BYTES = 32;
const SHA256_BYTES = 32;
const MAX_HEADER_CHARS = 8192;
const MAX_KEYID_CHARS = 256;
const DEFAULT_MAX_SKEW_SECONDS = 300;
// Margin added to the nonce TTL so a replay at the very edge of the window is still caught.
const NONCE_TTL_MARGIN_MS = 1000;
const NONCE_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${SIGNATURE_NONCE_LENGTH}}$`);
const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;
const ALLOWED_PARAMS = new Set(['created', 'expires', 'nonce', 'keyid', 'alg', 'tag']);
// Compared against when the key id is unknown, so unknown keys and bad signatures cost the same.
const DUMMY_SIGNING_KEY = randomBytes(HMAC_BYTES);

/** Input of {@link signRequest}. */
export interface SignRequestInput {
  /** HTTP method; upper-cased before signing, so send it upper-case. */
  readonly method: string;
  /** Absolute URL; signed as its WHATWG-normalized form (`new URL(url).href`). */
  readonly url: string;
  /** Request headers; must include `content-type` (any case) when `body` is given. */
  readonly headers: Readonly<Record<string, string>>;
  /** Body bytes. When given (even empty), `content-digest` and `content-type` are covered. */
  readonly body?: Uint8Array | undefined;
  /** Public `key_id` of the API key, sent as the `keyid` parameter. */
  readonly keyId: string;
  /** Signing key from `deriveSigningKey(apiKey)`. */
  readonly signingKey: Buffer;
  /** Current time, Unix milliseconds (default `Date.now()`). */
  readonly now?: number | undefined;
  /** Lifetime of the signature in seconds, integer 1–300 (default 60). */
  readonly ttlSeconds?: number | undefined;
}

/** Request as seen by the server, for {@link verifyRequestSignature}. */
export interface IncomingSignedRequest {
  /** HTTP method exactly as received. */
  readonly method: string;
  /** Absolute target URI reconstructed by the server: `scheme://host[:port]` + raw request-target. */
  readonly targetUri: string;
  /** Request headers with lowercase names (Node's `IncomingMessage.headers` shape). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Raw body bytes; absent or empty for a request without a body. */
  readonly body?: Uint8Array | undefined;
}

/** Options of {@link verifyRequestSignature}. */
export interface VerifyRequestSignatureOptions {
  /**
   * The clock, Unix milliseconds, read after the key lookup: a replay whose lookup waited (a busy
   * database) is then judged at the time its nonce is checked, not before it waited, so it cannot
   * arrive after the first request's nonce was forgotten and still pass as unexpired.
   */
  readonly now: () => number;
  /** Accepted distance of `created` from now, in seconds (default 300). */
  readonly maxSkewSeconds?: number | undefined;
  /** Returns the signing key of a `keyid`, or `undefined` when the key is unknown or unusable. */
  readonly lookupSigningKey: (keyId: string) => Promise<Buffer | undefined>;
  /**
   * Atomically records a nonce for `ttlMs` milliseconds (e.g. Redis `SET NX PX`); resolves `false`
   * when the nonce was already recorded for this key.
   */
  readonly consumeNonce: (keyId: string, nonce: string, ttlMs: number) => Promise<boolean>;
}

/** A verified signature. */
export interface VerifiedRequestSignature {
  /** The `keyid` parameter (the API key's public `key_id`). */
  readonly keyId: string;
  /** `created`, Unix seconds. */
  readonly created: number;
  /** `expires`, Unix seconds. */
  readonly expires: number;
  /** The consumed nonce. */
  readonly nonce: string;
}

function sha256Base64(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('base64');
}

/**
 * Signs a request with the Latchkey profile of RFC 9421 (`hmac-sha256`, label `sig1`, tag
 * `latchkey-v1`) and, for a body, computes its RFC 9530 `Content-Digest`.
 *
 * @param input Method, absolute URL, headers, optional body, key id, signing key, clock (ms), TTL (s).
 * @returns Headers to add: `signature-input`, `signature`, and `content-digest` when a body is given.
 *   The caller sends the method upper-case, the URL as given, and the `content-type` it passed.
 * @throws {TypeError} On a relative/invalid URL, an invalid method, a body without `content-type`,
 *   a key id that is not 1–256 printable ASCII chars, or a TTL outside 1–300 seconds.
 * @example
 * const extra = signRequest({ method: 'POST', url, headers: { 'content-type': 'application/json' },
 *   body, keyId, signingKey: deriveSigningKey(apiKey) });
 */
export function signRequest(input: SignRequestInput): Record<string, string> {
  const ttl = input.ttlSeconds ?? DEFAULT_SIGNATURE_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_SIGNATURE_TTL_SECONDS) {
    throw new TypeError(`ttlSeconds must be an integer between 1 and ${MAX_SIGNATURE_TTL_SECONDS}`);
  }
  if (!METHOD_TOKEN.test(input.method)) throw new TypeError('invalid HTTP method');
  if (typeof input.keyId !== 'string' || input.keyId.length > MAX_KEYID_CHARS || !PRINTABLE_ASCII.test(input.keyId)) {
    throw new TypeError('keyId must be 1-256 printable ASCII characters');
  }
  let targetUri: string;
  try {
    targetUri = new URL(input.url).href;
  } catch {
    throw new TypeError('url must be an absolute URL');
  }
  const hasBody = input.body !== undefined;
  let contentDigest: string | undefined;
  let contentType: string | undefined;
  if (hasBody) {
    const entry = Object.entries(input.headers).find(([name]) => name.toLowerCase() === 'content-type');
    contentType = entry?.[1].trim();
    if (!contentType) throw new TypeError('a request with a body needs a content-type header');
    contentDigest = formatContentDigest(sha256Base64(input.body!));
  }
  const created = Math.floor((input.now ?? Date.now()) / 1000);
  const params = {
    created,
    expires: created + ttl,
    nonce: randomBytes(16).toString('base64url'),
    keyid: input.keyId,
  };
  const latchkeyHeaders = latchkeyHeaderEntries(input.headers);
  const base = buildRequestSignatureBase(
    { method: input.method.toUpperCase(), targetUri, contentDigest, contentType, latchkeyHeaders },
    params,
  );
  const out: Record<string, string> = {
    'signature-input': formatSignatureInput(
      hasBody,
      params,
      latchkeyHeaders.map(([n]) => n),
    ),
    signature: formatSignatureHeader(hmacSha256(input.signingKey, base).toString('base64')),
  };
  if (contentDigest !== undefined) out['content-digest'] = contentDigest;
  return out;
}

/** RFC 9421 §2.1 canonical field value: values trimmed and combined with ", ". */
function fieldValue(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.map((v) => v.trim()).join(', ');
  return value.trim();
}

/**
 * Parses a signature field as an RFC 8941 dictionary: the profile's own serialization through the
 * fast path, anything else through `structured-headers`.
 */
function parseHeaderDictionary(value: string, fast?: (v: string) => Dictionary | undefined): Dictionary {
  if (value.length > MAX_HEADER_CHARS) throw new SignatureError('malformed');
  const parsed = fast?.(value);
  if (parsed) return parsed;
  try {
    return parseDictionary(value);
  } catch {
    throw new SignatureError('malformed');
  }
}

function isInnerList(member: Item | InnerList): member is InnerList {
  return Array.isArray(member[0]);
}

interface ParsedParams {
  readonly ordered: Record<string, SignatureParamValue>;
  readonly created: number;
  readonly expires: number;
  readonly nonce: string;
  readonly keyid: string;
}

/** Strict parse of `Signature-Input` and `Signature`, then the profile checks. */
function parseSignatureHeaders(headers: IncomingSignedRequest['headers']): {
  hasBody: boolean;
  latchkeyNames: string[];
  params: ParsedParams;
  signature: Buffer;
} {
  const inputValue = fieldValue(headers['signature-input']);
  const signatureValue = fieldValue(headers['signature']);
  if (inputValue === undefined && signatureValue === undefined) throw new SignatureError('missing');
  if (inputValue === undefined || signatureValue === undefined) throw new SignatureError('malformed');

  const inputs = parseHeaderDictionary(inputValue, parseProfileSignatureInput);
  const signatures = parseHeaderDictionary(signatureValue, parseProfileSignature);
  const input = inputs.get(SIGNATURE_LABEL);
  const sig = signatures.get(SIGNATURE_LABEL);
  if (inputs.size !== 1 || signatures.size !== 1 || input === undefined || sig === undefined) {
    throw new SignatureError('unsupported', 'request signature rejected: expected the single label sig1');
  }
  if (!isInnerList(input)) throw new SignatureError('malformed');
  if (isInnerList(sig) || !(sig[0] instanceof ArrayBuffer) || sig[1].size !== 0) {
    throw new SignatureError('malformed');
  }

  // Covered components: plain strings, exactly one of the two profile lists, in order.
  const names: string[] = [];
  for (const [value, itemParams] of input[0]) {
    if (typeof value !== 'string') throw new SignatureError('malformed');
    if (itemParams.size !== 0) throw new SignatureError('unsupported');
    names.push(value);
  }
  // The profile's base components, then the request's `latchkey-*` headers in ascending order.
  const startsWith = (list: readonly string[]): boolean =>
    list.length <= names.length && list.every((n, i) => names[i] === n);
  const hasBody = startsWith(COVERED_COMPONENTS_WITH_BODY);
  if (!hasBody && !startsWith(COVERED_COMPONENTS_WITHOUT_BODY)) {
    throw new SignatureError('unsupported', 'request signature rejected: unexpected covered components');
  }
  const latchkeyNames = names.slice((hasBody ? COVERED_COMPONENTS_WITH_BODY : COVERED_COMPONENTS_WITHOUT_BODY).length);
  for (let i = 0; i < latchkeyNames.length; i++) {
    const n = latchkeyNames[i]!;
    if (!isLatchkeyHeader(n) || n !== n.toLowerCase() || (i > 0 && !(latchkeyNames[i - 1]! < n))) {
      throw new SignatureError('unsupported', 'request signature rejected: unexpected covered components');
    }
  }

  // Parameters: only the profile's six, with the right types, in whatever order they were sent.
  const ordered: Record<string, SignatureParamValue> = {};
  for (const [key, value] of input[1]) {
    if (!ALLOWED_PARAMS.has(key)) throw new SignatureError('unsupported');
    const wantsInteger = key === 'created' || key === 'expires';
    if (wantsInteger ? !(typeof value === 'number' && Number.isSafeInteger(value)) : typeof value !== 'string') {
      throw new SignatureError('malformed');
    }
    ordered[key] = value as SignatureParamValue;
  }
  const { created, expires, nonce, keyid, alg, tag } = ordered;
  if (
    typeof created !== 'number' ||
    typeof expires !== 'number' ||
    typeof nonce !== 'string' ||
    typeof keyid !== 'string' ||
    alg === undefined ||
    tag === undefined
  ) {
    throw new SignatureError('malformed', 'request signature rejected: missing signature parameters');
  }
  if (tag !== SIGNATURE_TAG) throw new SignatureError('unsupported', 'request signature rejected: tag');
  if (alg !== SIGNATURE_ALG) throw new SignatureError('unsupported', 'request signature rejected: alg');
  if (!NONCE_PATTERN.test(nonce)) throw new SignatureError('malformed');
  if (keyid.length === 0 || keyid.length > MAX_KEYID_CHARS) throw new SignatureError('malformed');
  if (expires <= created || expires - created > MAX_SIGNATURE_TTL_SECONDS) {
    throw new SignatureError('unsupported', 'request signature rejected: lifetime');
  }
  return {
    hasBody,
    latchkeyNames,
    params: { ordered, created, expires, nonce, keyid },
    signature: Buffer.from(sig[0]),
  };
}

/** Parses an RFC 9530 Content-Digest and returns its 32-byte sha-256 member. */
function parseContentDigest(value: string): Buffer {
  const digest = parseHeaderDictionary(value);
  const member = digest.get('sha-256');
  if (member === undefined) throw new SignatureError('unsupported');
  if (digest.size !== 1) throw new SignatureError('unsupported');
  if (isInnerList(member) || !(member[0] instanceof ArrayBuffer) || member[1].size !== 0) {
    throw new SignatureError('malformed');
  }
  if (member[0].byteLength !== SHA256_BYTES) throw new SignatureError('malformed');
  return Buffer.from(member[0]);
}

/**
 * Verifies a request signed with the Latchkey profile of RFC 9421 (and its RFC 9530 Content-Digest).
 *
 * Order (DESIGN §5): strict parse → profile (label, tag, alg, exact components, parameters) → key
 * lookup → clock → constant-time HMAC → content digest → atomic nonce consumption. An unknown key
 * continues with a dummy key through the clock check and the HMAC, and fails only afterwards, so it
 * costs the same as a bad signature. `expires` must satisfy `created < expires ≤ created + 300`.
 *
 * @param req Method and target URI as received, lowercase-named headers, raw body bytes.
 * @param opts `now` (clock, Unix ms), `maxSkewSeconds` (default 300), `lookupSigningKey`, `consumeNonce`.
 *   The nonce is kept for as long as the signature could still be accepted, plus one second.
 * @returns The verified key id, created/expires (Unix seconds) and nonce.
 * @throws {SignatureError} `missing` (no signature headers), `malformed`, `unsupported`,
 *   `unknown_key`, `bad_signature`, `clock_skew`, `expired`, `digest_mismatch`, `replayed`. Answer all
 *   with the same 401; the reason is for logs. Errors thrown by the two callbacks propagate as-is.
 * @example
 * const { keyId } = await verifyRequestSignature(
 *   { method: req.method, targetUri, headers: req.headers, body },
 *   { now: Date.now, lookupSigningKey, consumeNonce: (k, n, ttl) => nonces.add(k, n, ttl) });
 */
export async function verifyRequestSignature(
  req: IncomingSignedRequest,
  opts: VerifyRequestSignatureOptions,
): Promise<VerifiedRequestSignature> {
  const maxSkew = opts.maxSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS;
  if (!(maxSkew > 0) || !Number.isFinite(maxSkew)) throw new TypeError('maxSkewSeconds must be positive');

  // 1–2. Strict parse and profile checks.
  const { hasBody, latchkeyNames, params, signature } = parseSignatureHeaders(req.headers);
  // Every `latchkey-*` header the request carries must be covered, and every covered one present.
  const present = latchkeyHeaderEntries(req.headers);
  if (present.length !== latchkeyNames.length || present.some(([n], i) => n !== latchkeyNames[i])) {
    throw new SignatureError('unsupported', 'request signature rejected: latchkey-* headers not covered');
  }
  let contentDigest: string | undefined;
  let contentType: string | undefined;
  let digest: Buffer | undefined;
  if (hasBody) {
    contentDigest = fieldValue(req.headers['content-digest']);
    contentType = fieldValue(req.headers['content-type']);
    if (!contentDigest || !contentType) throw new SignatureError('malformed');
    digest = parseContentDigest(contentDigest);
  }
  let base: string;
  try {
    base = buildSignatureBase(
      latchkeyCoveredComponents({
        method: req.method,
        targetUri: req.targetUri,
        contentDigest,
        contentType,
        latchkeyHeaders: present,
      }),
      params.ordered,
    );
  } catch {
    throw new SignatureError('malformed');
  }

  // 3. Key lookup; an unknown key carries on with a dummy key so timing does not reveal it.
  const found = await opts.lookupSigningKey(params.keyid);
  const key = found ?? DUMMY_SIGNING_KEY;

  // 4. Clock, read now: the lookup above may have waited.
  const nowMs = opts.now();
  if (params.created * 1000 > nowMs + maxSkew * 1000) throw new SignatureError('clock_skew');
  if (params.created * 1000 < nowMs - maxSkew * 1000) throw new SignatureError('clock_skew');
  if (nowMs > params.expires * 1000) throw new SignatureError('expired');

  // 5. HMAC, constant-time.
  const expected = hmacSha256(key, base);
  const isValid = signature.byteLength === HMAC_BYTES && timingSafeEqual(expected, signature);
  if (found === undefined) throw new SignatureError('unknown_key');
  if (!isValid) throw new SignatureError('bad_signature');

  // 6. Body integrity: a body is present if and only if content-digest is covered.
  const body = req.body ?? new Uint8Array(0);
  if (digest !== undefined) {
    const actual = createHash('sha256').update(body).digest();
    if (!timingSafeEqual(actual, digest)) throw new SignatureError('digest_mismatch');
  } else if (body.byteLength > 0) {
    throw new SignatureError('digest_mismatch', 'request signature rejected: body not covered');
  }

  // 7. Replay protection: keep the nonce while the signature could still be accepted.
  const lastAcceptedMs = Math.min(params.expires * 1000, (params.created + maxSkew) * 1000);
  const ttlMs = Math.max(NONCE_TTL_MARGIN_MS, Math.ceil(lastAcceptedMs - nowMs) + NONCE_TTL_MARGIN_MS);
  if (!(await opts.consumeNonce(params.keyid, params.nonce, ttlMs))) {
    throw new SignatureError('replayed');
  }
  return {
    keyId: params.keyid,
    created: params.created,
    expires: params.expires,
    nonce: params.nonce,
  };
}
