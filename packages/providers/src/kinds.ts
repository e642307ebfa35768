// Narrowing helpers for the two template kinds.

import type { ManagedSecretTemplate, OAuth2Template, ProviderTemplate } from './types.js';

/**
 * Whether a template describes a stored credential (`kind: managed_secret`).
 *
 * @param template A validated template.
 * @returns `true` for managed-secret templates, narrowing the type.
 * @example
 * const t = catalog.get('stripe');
 * if (t && isManagedSecretTemplate(t)) console.log(t.credential_type);
 */
export function isManagedSecretTemplate(template: ProviderTemplate): template is ManagedSecretTemplate {
  return template.kind === 'managed_secret';
}

/**
 * Whether a template is an OAuth 2.0 provider entry (`kind: oauth2`).
 *
 * @param template A validated template.
 * @returns `true` for OAuth 2.0 entries, narrowing the type.
 * @example
 * const t = catalog.get('google');
 * if (t && isOAuth2Template(t)) console.log(t.token_endpoint);
 */
export function isOAuth2Template(template: ProviderTemplate): template is OAuth2Template {
  return template.kind === 'oauth2';
}
