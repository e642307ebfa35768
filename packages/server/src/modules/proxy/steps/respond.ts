/** Hop-by-hop response headers never passed back to the caller. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const REDACTED = '[REDACTED]';

/**
 * Step 10: response headers to pass back: hop-by-hop removed, any header that echoes the injected
 * credential has it replaced by `[REDACTED]`.
 *
 * @param redact the credential strings (from the inject step).
 */
export function responseHeaders(
  headers: Record<string, string | string[] | undefined>,
  redact: readonly string[],
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  // Own keys without an entry array per header (this runs on every proxied response).
  for (const k of Object.keys(headers)) {
    const v = headers[k];
    if (v === undefined || HOP_BY_HOP.has(k)) continue;
    out[k] = Array.isArray(v) ? v.map((x) => redactString(x, redact)) : redactString(v, redact);
  }
  return out;
}

/** Replaces every occurrence of each `redact` string in `s` with `[REDACTED]`. */
export function redactString(s: string, redact: readonly string[]): string {
  let out = s;
  for (const r of redact) if (r && out.includes(r)) out = out.split(r).join(REDACTED);
  return out;
}

/**
 * Replaces every occurrence of each credential string in a buffered (textual or not) body with
 * `[REDACTED]`, byte-wise, so the JSON envelope never returns the credential.
 */
export function redactBody(body: Buffer, redact: readonly string[]): Buffer {
  let out = body;
  for (const r of redact) {
    if (!r) continue;
    const needle = Buffer.from(r, 'utf8');
    if (out.indexOf(needle) < 0) continue;
    const parts: Buffer[] = [];
    let from = 0;
    for (let i = out.indexOf(needle); i >= 0; i = out.indexOf(needle, from)) {
      parts.push(out.subarray(from, i), Buffer.from(REDACTED));
      from = i + needle.length;
    }
    parts.push(out.subarray(from));
    out = Buffer.concat(parts);
  }
  return out;
}
