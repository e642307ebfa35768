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

function pushPart(parts: Buffer[], value: string): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError('AAD parts must be non-empty strings');
  }
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.byteLength > MAX_PART_BYTES) throw new TypeError('AAD part is too long');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(bytes.byteLength, 0);
  parts.push(len, bytes);
}

/**
 * Encodes an AAD unambiguously: the domain `latchkey-aad-v1` followed by app id, table, record id
 * and field, each as a u16 big-endian byte length then its UTF-8 bytes. Length prefixes make
 * `("ab","c")` and `("a","bc")` distinct.
 *
 * @param context The app, table, record and field a sealed value belongs to.
 * @returns The AAD bytes to pass to `sealValue` / `openValue`.
 * @throws {TypeError} When a part is empty, not a string, or longer than 65535 UTF-8 bytes.
 * @example buildAad({ appId: 'app_1', table: 'managed_secret', recordId: 'ms_1', field: 'value' })
 */
export function buildAad(context: AadContext): Buffer {
  const parts: Buffer[] = [];
  pushPart(parts, AAD_DOMAIN);
  pushPart(parts, context.appId);
  pushPart(parts, context.table);
  pushPart(parts, context.recordId);
  pushPart(parts, context.field);
  return Buffer.concat(parts);
}
