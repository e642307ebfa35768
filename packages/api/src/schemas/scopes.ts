import { z } from 'zod';

/**
 * Key scopes (DESIGN §5): `resource:verb[:id]` with verbs `read < write < admin`, or an action scope.
 * `*` grants everything (the first app key minted by `latchkey init` has it).
 */
export const RESOURCE_SCOPES = [
  'keys',
  'secrets',
  'grants',
  'audit',
  'providers',
  'agents',
  'policies',
  'identity',
] as const;
/** Action scopes that are not resource verbs. */
export const ACTION_SCOPES = [
  'proxy:execute',
  'tokens:retrieve',
  'connect:initiate',
  'keys:derive',
  'approvals:decide',
  'audit:read',
] as const;
/** Verbs ordered by power. */
export const SCOPE_VERBS = ['read', 'write', 'admin'] as const;

const scopePattern = new RegExp(
  `^(\\*|(${RESOURCE_SCOPES.join('|')}):(read|write|admin)(:[A-Za-z0-9_-]{1,64})?|${ACTION_SCOPES.join('|')})$`,
);

/** One key scope string. */
export const Scope = z.string().regex(scopePattern, 'not a valid scope');

/**
 * Whether a key holding `held` scopes may perform an operation needing `required`.
 * `secrets:admin` covers `secrets:write` and `secrets:read`; `secrets:read` covers `secrets:read:ms_1`.
 *
 * @param held scopes on the key.
 * @param required one scope, e.g. `grants:write` or `proxy:execute`.
 */
export function hasScope(held: readonly string[], required: string): boolean {
  if (held.includes('*') || held.includes(required)) return true;
  const [resource, verb, id] = required.split(':');
  const rank = SCOPE_VERBS.indexOf(verb as (typeof SCOPE_VERBS)[number]);
  if (rank < 0) return false;
  for (const h of held) {
    const [hr, hv, hid] = h.split(':');
    if (hr !== resource) continue;
    const hrank = SCOPE_VERBS.indexOf(hv as (typeof SCOPE_VERBS)[number]);
    if (hrank < rank) continue;
    if (hid === undefined || hid === id) return true;
  }
  return false;
}
