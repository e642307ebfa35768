/**
 * Additional authenticated data for sealed values (DESIGN §6): names the row and field a ciphertext
 * belongs to, so a ciphertext copied into another row or field fails to open.
 */

const AAD_DOMAIN = 'latchkey-aad-v1';
const MAX_PART_BYTES = 0xffff;

/** Where a sealed value lives. */
export interface AadContext {
  /** Owning app id (`''` is refused; use a fixed id such as `root` for instance-level rows). */
  readonly appId: string;
  /** Table name, e.g. `managed_secret`. */
  readonly table: string;
  /** Primary key of the row. */
  readonly recordId: string;
  /** Column holding the sealed value, e.g. `value_sealed`. */
  readonly field: string;
}

function partLength(value: string): number {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError('AAD parts must be non-empty strings');
  }
  const n = Buffer.byteLength(value, 'utf8');
  if (n > MAX_PART_BYTES) throw new TypeError('AAD part is too long');
  return n;
}

const DOMAIN_BYTES = Buffer.byteLength(AAD_DOMAIN, 'utf8');

/** Writes `u16 BE n | utf8(value)` at `at` (`n` = the value's byte length); returns the offset after it. */
function putPart(out: Buffer, at: number, value: string, n: number): number {
  out.writeUInt16BE(n, at);
  return at + 2 + out.write(value, at + 2, 'utf8');
}

/**
 * Encodes an AAD unambiguously: the domain `latchkey-aad-v1` followed by app id, table, record id
 * and field, each as a u16 big-endian byte length then its UTF-8 bytes. Length prefixes make
 * `("ab","c")` and `("a","bc")` distinct.
 *
 * @param context The app, table, record and field a sealed value belongs to.
 * @returns The AAD bytes to pass to `sealValue` / `openValue`.
 * @throws {TypeError} When a part is empty, not a string, or longer than 65535 UTF-8 bytes.
 * @throws {Error} If the UTF-8 encoder wrote another length than it measured (never on Node 20/22).
 * @example buildAad({ appId: 'app_1', table: 'managed_secret', recordId: 'ms_1', field: 'value' })
 */
export function buildAad(context: AadContext): Buffer {
  const { appId, table, recordId, field } = context;
  const a = partLength(appId);
  const t = partLength(table);
  const r = partLength(recordId);
  const f = partLength(field);
  // One allocation (a cache miss builds two of these; ten small buffers and a concat cost ~1 µs more).
  const out = Buffer.allocUnsafe(10 + DOMAIN_BYTES + a + t + r + f);
  let at = putPart(out, 0, AAD_DOMAIN, DOMAIN_BYTES);
  at = putPart(out, at, appId, a);
  at = putPart(out, at, table, t);
  at = putPart(out, at, recordId, r);
  at = putPart(out, at, field, f);
  // The size came from Buffer.byteLength and the bytes from write(): were they ever to disagree,
  // the tail would hold stale pool memory and the AAD would change silently.
  if (at !== out.byteLength) throw new Error('AAD encoding length mismatch');
  return out;
}
