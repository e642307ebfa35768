// Validation of one provider template: schema.json first (shape), then the rules JSON Schema
// cannot say (host patterns, placeholders, base_url inside allowed_hosts, header names). Both
// passes always run, so one call reports every problem; the second pass only looks at fields
// whose shape is right, so it never repeats a schema error.

import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { parseFormat } from './format.js';
import { createHostMatcher, normalizeHost, validateHostPattern } from './hosts.js';
import { findOAuth2Problems } from './validate-oauth2.js';
import type { ProviderTemplate, TemplateValidation } from './types.js';

/** One problem in a template: where (JSON pointer, RFC 6901) and what. */
export interface TemplateProblem {
  readonly pointer: string;
  readonly message: string;
}

// Resolved from this file, so it works from src/ and from a build in dist/.
const SCHEMA_URL = new URL('../schema.json', import.meta.url);

// Headers Latchkey must never set from a template: framing, hop-by-hop, and its own.
const FORBIDDEN_HEADERS = new Set([
  'connection',
  'content-length',
  'expect',
  'host',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
// Headers that carry credentials: only the injection may set them.
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization', 'x-api-key']);

// Friendlier words for the schema's regular expressions, keyed by the pattern itself (ajv's
// schemaPath changes with how a definition is reached through $ref).
const PATTERN_MESSAGES: Readonly<Record<string, string>> = {
  '^[a-z0-9]+(-[a-z0-9]+)*$':
    'must be lowercase letters and digits, optionally joined by single hyphens (e.g. "my-api")',
  "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$": 'is not a valid HTTP header name',
  '^https://[^\\s]+$': 'must be an https:// URL',
  '^[a-z][a-z0-9_]{0,31}$':
    'must start with a lowercase letter and contain only lowercase letters, digits and underscores (max 32)',
  '^[A-Za-z0-9._~-]+$': 'must be letters, digits, ".", "_", "~" or "-"',
  '^/[^\\s#]*$': 'must start with "/" and contain no spaces or fragment',
  '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$': 'must be one scope: printable ASCII without spaces, quotes or backslashes',
};

let compiled: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  if (compiled === undefined) {
    const schema = JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as object;
    // strictRequired off: the conditional "then" branches require properties declared at the top.
    compiled = new Ajv2020({ allErrors: true, strict: true, strictRequired: false }).compile(schema);
  }
  return compiled;
}

function escapePointer(token: string | number): string {
  return String(token).replaceAll('~', '~0').replaceAll('/', '~1');
}

function fromAjvError(error: ErrorObject): TemplateProblem | undefined {
  const at = error.instancePath;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'if':
      return undefined; // the failing "then" branch reports the real problem
    case 'required':
      return { pointer: `${at}/${escapePointer(String(params.missingProperty))}`, message: 'is required' };
    case 'dependentRequired':
      return {
        pointer: `${at}/${escapePointer(String(params.missingProperty))}`,
        message: `is required when "${String(params.property)}" is present`,
      };
    case 'additionalProperties':
      return { pointer: `${at}/${escapePointer(String(params.additionalProperty))}`, message: 'is not allowed here' };
    case 'propertyNames':
      return {
        pointer: `${at}/${escapePointer(String(params.propertyName))}`,
        message: at.endsWith('/authorization_params')
          ? 'is not a valid parameter name (letters, digits, "_", "." or "-")'
          : 'is not a valid HTTP header name',
      };
    case 'enum':
      return {
        pointer: at,
        message: `must be one of: ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'const':
      return { pointer: at, message: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'pattern':
      return { pointer: at, message: PATTERN_MESSAGES[String(params.pattern)] ?? error.message ?? 'is malformed' };
    default:
      return { pointer: at, message: error.message ?? 'is invalid' };
  }
}

function schemaProblems(input: unknown): TemplateProblem[] {
  const validate = schemaValidator();
  if (validate(input)) return [];
  const problems: TemplateProblem[] = [];
  for (const error of validate.errors ?? []) {
    if (error.propertyName !== undefined) continue; // reported once by its "propertyNames" error
    const problem = fromAjvError(error);
    if (problem !== undefined) problems.push(problem);
  }
  return problems;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

class Problems {
  readonly list: TemplateProblem[] = [];
  add(pointer: string, message: string): void {
    this.list.push({ pointer, message });
  }
}

function checkHosts(t: Record<string, unknown>, out: Problems): void {
  asArray(t.allowed_hosts).forEach((pattern, i) => {
    if (typeof pattern !== 'string') return;
    const problem = validateHostPattern(pattern);
    if (problem !== undefined) out.add(`/allowed_hosts/${i}`, problem);
    else if (pattern !== normalizeHost(pattern)) {
      out.add(`/allowed_hosts/${i}`, 'write host patterns in lowercase without a trailing dot');
    }
  });
}

function checkUrl(value: unknown, pointer: string, out: Problems): URL | undefined {
  if (typeof value !== 'string' || !value.startsWith('https://')) return undefined; // schema reports it
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    out.add(pointer, 'is not a valid URL');
    return undefined;
  }
  if (url.username !== '' || url.password !== '') out.add(pointer, 'must not contain credentials');
  return url;
}

function checkUrls(t: Record<string, unknown>, out: Problems): void {
  checkUrl(t.docs_url, '/docs_url', out);
  const url = checkUrl(t.base_url, '/base_url', out);
  if (url === undefined) return;
  const raw = t.base_url as string;
  if (raw.includes('?') || raw.includes('#')) out.add('/base_url', 'must not have a query or a fragment');
  if (raw.endsWith('/')) out.add('/base_url', 'must not end with "/"');
  if (!Array.isArray(t.allowed_hosts)) return; // schema reports it
  const hosts = t.allowed_hosts.filter((h): h is string => typeof h === 'string');
  if (hosts.length === 0) {
    out.add('/base_url', 'needs allowed_hosts that include its host');
  } else if (!createHostMatcher(hosts)(url.hostname)) {
    out.add('/base_url', `host "${url.hostname}" is not in allowed_hosts`);
  }
}

function checkInjectedHeaderName(name: unknown, pointer: string, out: Problems): void {
  if (typeof name !== 'string') return;
  const lower = name.toLowerCase();
  if (FORBIDDEN_HEADERS.has(lower) || lower.startsWith('latchkey-')) {
    out.add(pointer, `"${name}" cannot be injected (framing, hop-by-hop or Latchkey header)`);
  }
}

/** Checks one format against the placeholders it may use; returns the names it uses. */
function checkFormat(format: unknown, pointer: string, allowed: ReadonlySet<string>, out: Problems): readonly string[] {
  if (typeof format !== 'string') return [];
  const parsed = parseFormat(format);
  if (!parsed.ok) {
    out.add(pointer, parsed.error);
    return [];
  }
  if (parsed.placeholders.length === 0) {
    out.add(pointer, 'must reference the secret with a placeholder such as {token}; static headers are not injected');
  }
  for (const name of parsed.placeholders) {
    if (!allowed.has(name)) {
      const known = [...allowed].map((n) => `{${n}}`).join(', ');
      out.add(pointer, `unknown placeholder {${name}}; use ${known}`);
    }
  }
  return parsed.placeholders;
}

/** Names of the headers the template's injection sets (lowercase). */
function injectedHeaderNames(t: Record<string, unknown>): Set<string> {
  const names = new Set<string>();
  const injection = isRecord(t.injection) ? t.injection : {};
  if (t.credential_type === 'bearer' || t.credential_type === 'basic') names.add('authorization');
  if (t.credential_type === 'api_key' && typeof injection.header === 'string') {
    names.add(injection.header.toLowerCase());
  }
  if (t.credential_type === 'custom') {
    for (const h of asArray(injection.headers)) {
      if (isRecord(h) && typeof h.name === 'string') names.add(h.name.toLowerCase());
    }
  }
  return names;
}

function checkApiKey(injection: Record<string, unknown>, out: Problems): void {
  checkInjectedHeaderName(injection.header, '/injection/header', out);
  if (typeof injection.format !== 'string') return;
  const parsed = parseFormat(injection.format);
  if (!parsed.ok) out.add('/injection/format', parsed.error);
  else if (parsed.placeholders.length !== 1 || parsed.placeholders[0] !== 'token') {
    const count = parsed.placeholders.filter((n) => n === 'token').length;
    const others = parsed.placeholders.filter((n) => n !== 'token');
    out.add(
      '/injection/format',
      others.length > 0
        ? `only {token} is allowed here, found {${others[0] ?? ''}}`
        : `must contain {token} exactly once (found ${count})`,
    );
  }
}

function checkCustom(injection: Record<string, unknown>, out: Problems): void {
  const fields = asArray(injection.fields);
  const fieldNames = new Set<string>();
  fields.forEach((field, i) => {
    if (!isRecord(field) || typeof field.name !== 'string') return;
    if (fieldNames.has(field.name)) out.add(`/injection/fields/${i}/name`, `duplicate field "${field.name}"`);
    fieldNames.add(field.name);
  });
  const allowed: ReadonlySet<string> = fields.length > 0 ? fieldNames : new Set(['token']);
  const used = new Set<string>();

  for (const kind of ['headers', 'query'] as const) {
    const seen = new Set<string>();
    asArray(injection[kind]).forEach((param, i) => {
      if (!isRecord(param)) return;
      const at = `/injection/${kind}/${i}`;
      if (typeof param.name === 'string') {
        const key = kind === 'headers' ? param.name.toLowerCase() : param.name;
        if (seen.has(key))
          out.add(`${at}/name`, `duplicate ${kind === 'headers' ? 'header' : 'query parameter'} "${param.name}"`);
        seen.add(key);
      }
      if (kind === 'headers') checkInjectedHeaderName(param.name, `${at}/name`, out);
      for (const name of checkFormat(param.format, `${at}/format`, allowed, out)) used.add(name);
    });
  }

  const injects = asArray(injection.headers).length + asArray(injection.query).length > 0;
  if (fields.length > 0 && !injects) {
    out.add('/injection', 'declares fields but no headers or query parameters use them');
  } else if (injects) {
    fields.forEach((field, i) => {
      if (isRecord(field) && typeof field.name === 'string' && !used.has(field.name)) {
        out.add(`/injection/fields/${i}`, `field "${field.name}" is not used by any header or query format`);
      }
    });
  }
}

function checkInjection(t: Record<string, unknown>, out: Problems): void {
  if (!isRecord(t.injection)) return;
  if (t.credential_type === 'api_key') checkApiKey(t.injection, out);
  if (t.credential_type === 'custom') checkCustom(t.injection, out);
}

function checkDocumentedHeaders(t: Record<string, unknown>, out: Problems): void {
  const credential = new Set([...CREDENTIAL_HEADERS, ...injectedHeaderNames(t)]);
  const reject = (name: unknown, pointer: string): void => {
    if (typeof name !== 'string') return;
    const lower = name.toLowerCase();
    if (credential.has(lower)) out.add(pointer, `"${name}" carries the credential; only the injection sets it`);
    else checkInjectedHeaderName(name, pointer, out);
  };

  const test = isRecord(t.test_endpoint) ? t.test_endpoint : undefined;
  if (test !== undefined) {
    if (isRecord(test.headers)) {
      for (const name of Object.keys(test.headers)) reject(name, `/test_endpoint/headers/${escapePointer(name)}`);
    }
    if (test.method === 'HEAD' && test.expect_json_field_true !== undefined) {
      out.add('/test_endpoint/expect_json_field_true', 'a HEAD response has no body to check');
    }
  }

  const seen = new Set<string>();
  asArray(t.required_headers).forEach((header, i) => {
    if (!isRecord(header) || typeof header.name !== 'string') return;
    const lower = header.name.toLowerCase();
    if (seen.has(lower)) out.add(`/required_headers/${i}/name`, `duplicate header "${header.name}"`);
    seen.add(lower);
    reject(header.name, `/required_headers/${i}/name`);
  });
}

function semanticProblems(input: unknown): TemplateProblem[] {
  if (!isRecord(input)) return [];
  const out = new Problems();
  checkHosts(input, out);
  checkUrls(input, out);
  if (input.kind === 'oauth2') {
    checkDocumentedHeaders(input, out);
    out.list.push(...findOAuth2Problems(input));
    return out.list;
  }
  checkInjection(input, out);
  checkDocumentedHeaders(input, out);
  return out.list;
}

/**
 * Lists every problem of a template as JSON pointer + message. Used by {@link validateTemplate}
 * and by the catalog loader, which adds the file name.
 *
 * @param input A parsed template (any value).
 * @returns The problems, empty when the template is valid.
 */
export function findTemplateProblems(input: unknown): TemplateProblem[] {
  const seen = new Set<string>();
  return [...schemaProblems(input), ...semanticProblems(input)].filter((p) => {
    const key = `${p.pointer}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Validates a provider template against schema.json and the catalog rules: host patterns
 * (`*.suffix` needs two labels after `*.`), `base_url` inside `allowed_hosts`, `{token}` exactly
 * once in an `api_key` format, custom formats referencing only declared fields, no injected
 * framing/hop-by-hop headers, no credential headers in documentation or test headers.
 * Usable for catalog entries and for per-app custom templates.
 *
 * @param input A parsed template (e.g. from YAML or a JSON request body); not modified.
 * @returns `{ ok: true, template }` with a deep-frozen copy, or `{ ok: false, errors }` where each
 *   error reads `"<JSON pointer>: <message>"`, e.g. `"/injection/format: must contain {token} exactly once (found 0)"`.
 * @throws Never for bad input; an unreadable schema.json (broken install) throws from `readFileSync`.
 * @example
 * const result = validateTemplate(YAML.parse(text));
 * if (!result.ok) console.error(result.errors.join('\n'));
 */
export function validateTemplate(input: unknown): TemplateValidation {
  const problems = findTemplateProblems(input);
  if (problems.length > 0) {
    return { ok: false, errors: problems.map((p) => `${p.pointer === '' ? '/' : p.pointer}: ${p.message}`) };
  }
  return { ok: true, template: deepFreeze(structuredClone(input) as ProviderTemplate) };
}
