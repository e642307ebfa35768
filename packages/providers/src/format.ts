// Format strings put a secret into a header or query value: "Bearer {token}", "{token}",
// "{account_id}:{api_key}". A placeholder is `{name}` with name = [a-z][a-z0-9_]{0,31}; there is no
// escape for literal braces, so any other brace is an error.

const PLACEHOLDER = /\{([^{}]*)\}/g;
const PLACEHOLDER_NAME = /^[a-z][a-z0-9_]{0,31}$/;

const CONTROL = /[\u0000-\u001f\u007f]/;

/** Result of {@link parseFormat}. */
export type ParsedFormat =
  { readonly ok: true; readonly placeholders: readonly string[] } | { readonly ok: false; readonly error: string };

/**
 * Parses a format string and lists its placeholders in order (repeats included).
 *
 * @param format e.g. `"token {token}"`.
 * @returns The placeholder names, or a message saying why the format is malformed (a stray brace,
 *   a bad placeholder name, a control character).
 * @throws {TypeError} If `format` is not a string.
 * @example parseFormat('{user}:{key}') // → { ok: true, placeholders: ['user', 'key'] }
 */
export function parseFormat(format: string): ParsedFormat {
  if (typeof format !== 'string') throw new TypeError('format must be a string');
  if (CONTROL.test(format)) return { ok: false, error: 'must not contain control characters' };
  const placeholders: string[] = [];
  for (const match of format.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    if (!PLACEHOLDER_NAME.test(name)) {
      return {
        ok: false,
        error: `"{${name}}" is not a valid placeholder: use {token} or {field_name} (lowercase letters, digits, underscores)`,
      };
    }
    placeholders.push(name);
  }
  if (/[{}]/.test(format.replace(PLACEHOLDER, ''))) {
    return { ok: false, error: 'has an unmatched "{" or "}"' };
  }
  return { ok: true, placeholders };
}

/**
 * Replaces every placeholder of a format with its value. Used by the proxy's inject step; the
 * result is the raw value (the caller URL-encodes query parameters).
 *
 * @param format A format that passed validation, e.g. `"Bearer {token}"`.
 * @param values Placeholder name → value (`{ token }` for one-string secrets, the fields otherwise).
 * @returns The filled value.
 * @throws {TypeError} If the format is malformed, a placeholder has no string value, or a value
 *   contains a control character (CR, LF, NUL…). Messages never include a value.
 * @example fillFormat('token {token}', { token: 'ghp_x' }) // → 'token ghp_x'
 */
export function fillFormat(format: string, values: Readonly<Record<string, string>>): string {
  const parsed = parseFormat(format);
  if (!parsed.ok) throw new TypeError(`invalid format: ${parsed.error}`);
  for (const name of parsed.placeholders) {
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    if (typeof value !== 'string') throw new TypeError(`no value for placeholder {${name}}`);
    if (CONTROL.test(value)) throw new TypeError(`the value for {${name}} contains a control character`);
  }
  return format.replace(PLACEHOLDER, (_whole, name: string) => values[name] as string);
}
