/**
 * The Latchkey request-signing profile of RFC 9421 (HTTP Message Signatures) and RFC 9530
 * (Content-Digest), as pure string building shared by the server, the Node SDK and the browser SDK.
 * No crypto and no I/O here: callers compute HMAC-SHA256 and SHA-256 with whatever their runtime
 * offers (node:crypto, WebCrypto) and use these helpers to build the exact bytes to sign.
 *
 * Profile (DESIGN §5): single label `sig1`; covered components
 * `("@method" "@target-uri" "content-digest" "content-type")` with a body and
 * `("@method" "@target-uri")` without; parameters `created`, `expires` (≤ 300 s after `created`),
 * `nonce` (128-bit, base64url, 22 chars), `keyid`, `alg="hmac-sha256"`, `tag="latchkey-v1"`.
 */

/** The only signature label Latchkey sends and accepts (RFC 9421 §4.1). */
export const SIGNATURE_LABEL = 'sig1';

/** The application tag of the profile (RFC 9421 §2.3 `tag` parameter). */
export const SIGNATURE_TAG = 'latchkey-v1';

/** The only signature algorithm of the profile (RFC 9421 §3.3.3). */
export const SIGNATURE_ALG = 'hmac-sha256';

/** Upper bound of `expires - created`, in seconds. */
export const MAX_SIGNATURE_TTL_SECONDS = 300;

/** Default `expires - created` used by signers, in seconds. */
export const DEFAULT_SIGNATURE_TTL_SECONDS = 60;

/** Length of the `nonce` parameter: 16 random bytes as unpadded base64url. */
export const SIGNATURE_NONCE_LENGTH = 22;

/**
 * HMAC data used to derive the request-signing key from an API key:
 * `signingKey = HMAC-SHA256(key = utf8(apiKey), data = utf8(REQUEST_SIGNING_KEY_INFO))`.
 */
export const REQUEST_SIGNING_KEY_INFO = 'latchkey-request-signing-v1';

/** Covered components, in order, for a request with a body. */
export const COVERED_COMPONENTS_WITH_BODY = Object.freeze([
  '@method',
  '@target-uri',
  'content-digest',
  'content-type',
] as const);

/** Covered components, in order, for a request without a body. */
export const COVERED_COMPONENTS_WITHOUT_BODY = Object.freeze(['@method', '@target-uri'] as const);

/** A signature parameter value: an sf-string or an sf-integer (RFC 8941 §3.3.1, §3.3.3). */
export type SignatureParamValue = string | number;

/**
 * Signature parameters in serialization order (object insertion order is kept, which is safe
 * because parameter names are never integer-like).
 */
export type SignatureParams = Readonly<Record<string, SignatureParamValue>>;

/** The parameters of a Latchkey-profile signature, in the order they are serialized. */
export interface LatchkeySignatureParams {
  /** Creation time, Unix seconds. */
  readonly created: number;
  /** Expiry time, Unix seconds; `created < expires ≤ created + 300`. */
  readonly expires: number;
  /** 16 random bytes, base64url without padding (22 chars). */
  readonly nonce: string;
  /** The API key's public `key_id`. */
  readonly keyid: string;
}

/** One covered component and its canonical value (RFC 9421 §2.1, §2.2). */
export interface SignatureBaseComponent {
  /** Component name: a lowercase field name (`content-type`) or a derived component (`@method`). */
  readonly name: string;
  /** Canonical value, already trimmed and combined; must not contain CR or LF. */
  readonly value: string;
}

/** The request values covered by a Latchkey-profile signature. */
export interface SignedRequestComponents {
  /** HTTP method exactly as sent, e.g. `POST`. */
  readonly method: string;
  /** Absolute target URI, e.g. `https://vault.example.com/v1/proxy?x=1`. */
  readonly targetUri: string;
  /** `Content-Digest` value; present if and only if the request has a body. */
  readonly contentDigest?: string | undefined;
  /** `Content-Type` value; required when `contentDigest` is present. */
  readonly contentType?: string | undefined;
  /**
   * Every `latchkey-*` request header, `[lowercase name, value]`: they say what Latchkey should do with
   * the call (target, grant, acting agent, user token…), so the signature covers them too.
   */
  readonly latchkeyHeaders?: readonly (readonly [string, string])[] | undefined;
}

/** Whether a header name belongs to Latchkey's own request vocabulary (`latchkey-*`). */
export function isLatchkeyHeader(name: string): boolean {
  return name.length > 9 && name.slice(0, 9).toLowerCase() === 'latchkey-';
}

/**
 * The `latchkey-*` headers of a request as `[lowercase name, trimmed value]`, sorted by name — the
 * order in which they are covered (after the base components).
 *
 * @param headers header map; array values are joined with `, ` (RFC 9421 §2.1).
 */
export function latchkeyHeaderEntries(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || !isLatchkeyHeader(name)) continue;
    const v = typeof value === 'string' ? value : value.join(', ');
    out.push([name.toLowerCase(), v.trim()]);
  }
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

// RFC 8941 §3.3.4 token characters, restricted to lowercase for component names (RFC 9421 §2.1).
const COMPONENT_NAME = /^@?[a-z0-9!#$%&'*+\-.^_`|~]+$/;
// RFC 8941 §3.1.2 key.
const PARAM_KEY = /^[a-z*][a-z0-9_\-.*]*$/;
// RFC 8941 §3.3.3: printable ASCII only.
const SF_STRING = /^[\x20-\x7e]*$/;
const MAX_SF_INTEGER = 999_999_999_999_999;

function serializeSfString(value: string): string {
  if (!SF_STRING.test(value)) {
    throw new TypeError('signature parameter strings must be printable ASCII');
  }
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function serializeParamValue(value: SignatureParamValue): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || Math.abs(value) > MAX_SF_INTEGER) {
      throw new TypeError('signature parameter numbers must be sf-integers');
    }
    return String(value);
  }
  if (typeof value === 'string') return serializeSfString(value);
  throw new TypeError('signature parameter values must be strings or integers');
}

/**
 * Serializes a covered-component list and its parameters as an RFC 8941 inner list, which is both
 * the `Signature-Input` member value and the value of the `@signature-params` line (RFC 9421 §2.3).
 *
 * @param componentNames Component names in covered order, e.g. `['@method', '@target-uri']`.
 * @param params Parameters in serialization order; strings must be printable ASCII, numbers integers.
 * @returns e.g. `("@method" "@target-uri");created=1618884473;keyid="k1"`.
 * @throws {TypeError} On a component name or parameter that RFC 8941 cannot represent.
 * @example serializeSignatureParams(['date'], { created: 1, keyid: 'k' }) // '("date");created=1;keyid="k"'
 */
export function serializeSignatureParams(componentNames: readonly string[], params: SignatureParams): string {
  const items = componentNames.map((name) => {
    if (!COMPONENT_NAME.test(name)) throw new TypeError('invalid component name');
    return `"${name}"`;
  });
  let out = `(${items.join(' ')})`;
  for (const [key, value] of Object.entries(params)) {
    if (!PARAM_KEY.test(key)) throw new TypeError('invalid signature parameter name');
    out += `;${key}=${serializeParamValue(value)}`;
  }
  return out;
}

/**
 * Builds the signature base of RFC 9421 §2.5: one `"<name>": <value>` line per covered component,
 * then the `"@signature-params"` line, joined by LF with no trailing newline. General enough for any
 * set of plain (parameterless) components, so RFC 9421 Appendix B examples can be reproduced.
 *
 * @param components Covered components with their canonical values, in covered order.
 * @param params Signature parameters in serialization order.
 * @returns The exact string whose UTF-8 bytes are signed.
 * @throws {TypeError} On an invalid component name, a value containing CR/LF, a duplicate
 *   component, or a parameter RFC 8941 cannot represent.
 * @example buildSignatureBase([{ name: '@method', value: 'GET' }], { created: 1 })
 *   // '"@method": GET\n"@signature-params": ("@method");created=1'
 */
export function buildSignatureBase(components: readonly SignatureBaseComponent[], params: SignatureParams): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const { name, value } of components) {
    if (seen.has(name)) throw new TypeError('duplicate covered component');
    seen.add(name);
    if (/[\r\n]/.test(value)) throw new TypeError('component values must not contain CR or LF');
    lines.push(`"${name}": ${value}`);
  }
  const signatureParams = serializeSignatureParams(
    components.map((c) => c.name),
    params,
  );
  lines.push(`"@signature-params": ${signatureParams}`);
  return lines.join('\n');
}

/**
 * Orders Latchkey profile parameters as they are serialized: created, expires, nonce, keyid, alg, tag.
 *
 * @param params created/expires (Unix seconds), nonce, keyid.
 * @returns A parameter record including the fixed `alg` and `tag`.
 */
export function latchkeySignatureParams(params: LatchkeySignatureParams): SignatureParams {
  return {
    created: params.created,
    expires: params.expires,
    nonce: params.nonce,
    keyid: params.keyid,
    alg: SIGNATURE_ALG,
    tag: SIGNATURE_TAG,
  };
}

/**
 * Lists the profile's covered components with their values: the four-component list when
 * `contentDigest` is given, the two-component list otherwise.
 *
 * @throws {TypeError} When `contentDigest` is given without `contentType`.
 */
export function latchkeyCoveredComponents(request: SignedRequestComponents): SignatureBaseComponent[] {
  const components: SignatureBaseComponent[] = [
    { name: '@method', value: request.method },
    { name: '@target-uri', value: request.targetUri },
  ];
  if (request.contentDigest !== undefined) {
    if (request.contentType === undefined) {
      throw new TypeError('a signed request with a body needs a content-type');
    }
    components.push(
      { name: 'content-digest', value: request.contentDigest },
      { name: 'content-type', value: request.contentType },
    );
  }
  for (const [name, value] of request.latchkeyHeaders ?? []) components.push({ name, value });
  return components;
}

/**
 * Builds the RFC 9421 signature base of a Latchkey-profile request.
 *
 * @param request Method, absolute target URI and, for a body, Content-Digest and Content-Type values.
 * @param params created/expires (Unix seconds), nonce and keyid; alg and tag are fixed by the profile.
 * @returns The string whose UTF-8 bytes are signed with HMAC-SHA256.
 * @throws {TypeError} On values the profile cannot represent.
 */
export function buildRequestSignatureBase(request: SignedRequestComponents, params: LatchkeySignatureParams): string {
  return buildSignatureBase(latchkeyCoveredComponents(request), latchkeySignatureParams(params));
}

/**
 * Formats the `Signature-Input` header value of a Latchkey-profile request (RFC 9421 §4.1).
 *
 * @param hasBody Whether the request carries a body (selects the covered component list).
 * @param params created/expires (Unix seconds), nonce and keyid.
 * @returns e.g. `sig1=("@method" "@target-uri");created=…;expires=…;nonce="…";keyid="…";alg="hmac-sha256";tag="latchkey-v1"`.
 * @throws {TypeError} On values the profile cannot represent.
 */
export function formatSignatureInput(
  hasBody: boolean,
  params: LatchkeySignatureParams,
  latchkeyHeaderNames: readonly string[] = [],
): string {
  const components = [
    ...(hasBody ? COVERED_COMPONENTS_WITH_BODY : COVERED_COMPONENTS_WITHOUT_BODY),
    ...latchkeyHeaderNames,
  ];
  return `${SIGNATURE_LABEL}=${serializeSignatureParams(components, latchkeySignatureParams(params))}`;
}

/**
 * Formats the `Signature` header value (RFC 9421 §4.2) from a base64 signature.
 *
 * @param base64Signature Standard base64 (with padding) of the 32-byte HMAC-SHA256 output.
 * @returns `sig1=:<base64>:`.
 */
export function formatSignatureHeader(base64Signature: string): string {
  return `${SIGNATURE_LABEL}=:${base64Signature}:`;
}

/**
 * Formats an RFC 9530 `Content-Digest` header value for SHA-256.
 *
 * @param base64Sha256 Standard base64 (with padding) of the SHA-256 digest of the body bytes.
 * @returns `sha-256=:<base64>:`.
 * @example formatContentDigest('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=')
 */
export function formatContentDigest(base64Sha256: string): string {
  return `sha-256=:${base64Sha256}:`;
}
