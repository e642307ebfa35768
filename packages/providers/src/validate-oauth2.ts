// The rules JSON Schema cannot say for `kind: oauth2` entries: endpoint URLs, reserved
// authorization parameters and scopes that would not survive joining with the separator.
// Called by validate.ts, which also runs the host and base_url checks shared by both kinds.

import type { TemplateProblem } from './validate.js';

const ENDPOINTS = ['authorization_endpoint', 'token_endpoint', 'revocation_endpoint', 'userinfo_endpoint'] as const;

// Parameters Latchkey sets itself on the authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3,
// OpenID Connect nonce); a template may not override them.
const RESERVED_AUTHORIZATION_PARAMS = new Set([
  'client_id',
  'code_challenge',
  'code_challenge_method',
  'nonce',
  'redirect_uri',
  'request',
  'request_uri',
  'response_mode',
  'response_type',
  'scope',
  'state',
]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkEndpoint(value: unknown, pointer: string, out: TemplateProblem[]): void {
  if (typeof value !== 'string' || !value.startsWith('https://')) return; // the schema reports it
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    out.push({ pointer, message: 'is not a valid URL' });
    return;
  }
  if (url.username !== '' || url.password !== '') out.push({ pointer, message: 'must not contain credentials' });
  if (value.includes('#')) out.push({ pointer, message: 'must not have a fragment' });
}

/**
 * Lists the problems of an `oauth2` entry that the schema cannot express.
 *
 * @param t A parsed template whose `kind` is `oauth2` (other fields may be malformed).
 * @returns The problems as JSON pointer + message; empty when none.
 */
export function findOAuth2Problems(t: Record<string, unknown>): TemplateProblem[] {
  const out: TemplateProblem[] = [];
  for (const name of ENDPOINTS) checkEndpoint(t[name], `/${name}`, out);

  if (isRecord(t.authorization_params)) {
    for (const name of Object.keys(t.authorization_params)) {
      if (RESERVED_AUTHORIZATION_PARAMS.has(name.toLowerCase())) {
        out.push({
          pointer: `/authorization_params/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`,
          message: `"${name}" is set by Latchkey and cannot be overridden`,
        });
      }
    }
  }

  const separator = t.scope_separator;
  if (separator === ',' && Array.isArray(t.default_scopes)) {
    t.default_scopes.forEach((scope, i) => {
      if (typeof scope === 'string' && scope.includes(',')) {
        out.push({ pointer: `/default_scopes/${i}`, message: 'contains the scope separator ","' });
      }
    });
  }

  const refresh = isRecord(t.refresh) ? t.refresh : undefined;
  if (
    refresh !== undefined &&
    typeof refresh.requires_scope === 'string' &&
    separator === ',' &&
    refresh.requires_scope.includes(',')
  ) {
    out.push({ pointer: '/refresh/requires_scope', message: 'contains the scope separator ","' });
  }
  return out;
}
