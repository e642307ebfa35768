/**
 * Request signing: the client half of Latchkey's RFC 9421 profile (DESIGN §5), on Web Crypto only so it
 * runs in browsers too. The exact strings come from `@latchkey/api/signing`, shared with the server.
 * Internal: not exported from the package entry.
 */
import {
  DEFAULT_SIGNATURE_TTL_SECONDS,
  REQUEST_SIGNING_KEY_INFO,
  buildRequestSignatureBase,
  latchkeyHeaderEntries,
  formatContentDigest,
  formatSignatureHeader,
  formatSignatureInput,
  type LatchkeySignatureParams,
} from '@latchkey/api/signing';
import { bytesToBase64, bytesToBase64Url, bytesToHex, utf8 } from './encoding.js';

/**
 * HMAC data deriving an API key's public key id:
 * `keyid = "key_" + hex(HMAC-SHA256(key = utf8(apiKey), data = utf8(KEY_ID_INFO)))[0..24]`.
 */
export const KEY_ID_INFO = 'latchkey-key-id-v1';

/** Key material derived once per client from the API key. */
export interface DerivedKeys {
  /** Web Crypto HMAC-SHA256 key holding `HMAC-SHA256(apiKey, "latchkey-request-signing-v1")`. */
  readonly signingKey: CryptoKey;
  /** The public key id sent as the `keyid` parameter. */
  readonly keyId: string;
}

/** The headers a signed request adds. Names are lowercase. */
export interface SignatureHeaders {
  readonly 'signature-input': string;
  readonly signature: string;
  readonly 'content-digest'?: string;
}

/** What gets signed: the request exactly as it will be sent. */
export interface SignableRequest {
  /** Uppercase method, exactly as sent. */
  readonly method: string;
  /** Absolute URL exactly as sent (WHATWG-serialized, including the query). */
  readonly targetUri: string;
  /** Fully buffered body; `undefined` or empty means "no body". */
  readonly body?: Uint8Array<ArrayBuffer> | undefined;
  /** `content-type` header value; required with a non-empty body. */
  readonly contentType?: string | undefined;
  /** The request's headers: every `latchkey-*` one is covered by the signature. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (s === undefined) {
    throw new TypeError('Web Crypto (globalThis.crypto.subtle) is required to sign Latchkey requests');
  }
  return s;
}

async function importHmacKey(raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return subtle().importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

/** HMAC-SHA256 of `data` under `key`. */
export async function hmacSha256(key: CryptoKey, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await subtle().sign('HMAC', key, data));
}

/** SHA-256 of `data`. */
export async function sha256(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await subtle().digest('SHA-256', data));
}

/**
 * Derives the request-signing key and the public key id from an API key (DESIGN §5).
 *
 * @param apiKey `lk_app_…` or `lk_agent_…`.
 * @returns The signing key (non-extractable) and the `key_…` id.
 */
export async function deriveKeys(apiKey: string): Promise<DerivedKeys> {
  const master = await importHmacKey(utf8(apiKey));
  const [signingRaw, idRaw] = await Promise.all([
    hmacSha256(master, utf8(REQUEST_SIGNING_KEY_INFO)),
    hmacSha256(master, utf8(KEY_ID_INFO)),
  ]);
  const signingKey = await importHmacKey(signingRaw);
  signingRaw.fill(0);
  return { signingKey, keyId: `key_${bytesToHex(idRaw).slice(0, 24)}` };
}

function randomNonce(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return bytesToBase64Url(bytes);
}

/**
 * Signs one request: `content-digest` (RFC 9530) over the body if there is one, then an RFC 9421
 * signature labelled `sig1` with `created`, `expires = created + 60`, a 128-bit `nonce`, `keyid`,
 * `alg="hmac-sha256"` and `tag="latchkey-v1"`.
 *
 * @param keys Output of {@link deriveKeys}.
 * @param request Method, absolute URL, buffered body and its content type.
 * @param nowMs Clock, Unix milliseconds.
 * @returns Headers to add to the request.
 * @throws {TypeError} When a body is given without a content type.
 */
export async function signRequest(
  keys: DerivedKeys,
  request: SignableRequest,
  nowMs: number = Date.now(),
): Promise<SignatureHeaders> {
  const hasBody = request.body !== undefined && request.body.byteLength > 0;
  const contentDigest = hasBody ? formatContentDigest(bytesToBase64(await sha256(request.body!))) : undefined;
  const created = Math.floor(nowMs / 1000);
  const params: LatchkeySignatureParams = {
    created,
    expires: created + DEFAULT_SIGNATURE_TTL_SECONDS,
    nonce: randomNonce(),
    keyid: keys.keyId,
  };
  const latchkeyHeaders = latchkeyHeaderEntries(request.headers ?? {});
  const base = buildRequestSignatureBase(
    {
      method: request.method,
      targetUri: request.targetUri,
      contentDigest,
      contentType: hasBody ? request.contentType : undefined,
      latchkeyHeaders,
    },
    params,
  );
  const signature = bytesToBase64(await hmacSha256(keys.signingKey, utf8(base)));
  const headers: { -readonly [K in keyof SignatureHeaders]: SignatureHeaders[K] } = {
    'signature-input': formatSignatureInput(
      hasBody,
      params,
      latchkeyHeaders.map(([n]) => n),
    ),
    signature: formatSignatureHeader(signature),
  };
  if (contentDigest !== undefined) headers['content-digest'] = contentDigest;
  return headers;
}
