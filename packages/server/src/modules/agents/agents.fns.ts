import { hasScope } from '@latchkey/api';
import type { AgentsTable } from '../../store/types.js';
import type { AgentStatus, AgentT, KeyMetaT } from './agents.types.js';

/** Derived status (DESIGN: state is derived, not stored twice): revoked wins over paused. */
export function agentStatus(row: Pick<AgentsTable, 'paused_at' | 'revoked_at'>): AgentStatus {
  if (row.revoked_at) return 'revoked';
  if (row.paused_at) return 'paused';
  return 'active';
}

/** Converts a row to the API shape. */
export function toAgent(row: AgentsTable): AgentT {
  return {
    id: row.id,
    name: row.name,
    display_name: row.display_name,
    type: row.type as AgentT['type'],
    status: agentStatus(row),
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    scopes: JSON.parse(row.scopes) as string[],
    policy: { rate_limit_rpm: row.rate_limit_rpm },
    created_at: row.created_at,
    updated_at: row.updated_at,
    paused_at: row.paused_at,
    revoked_at: row.revoked_at,
  };
}

/** Scopes deduplicated, first occurrence kept. */
export function normalizeScopes(scopes: readonly string[]): string[] {
  return [...new Set(scopes)];
}

/**
 * The current scopes that `next` would no longer cover. Empty means `next` only widens: every scope
 * the agent holds is still granted (itself, or through a stronger verb such as `grants:write` for
 * `grants:read`).
 */
export function narrowedScopes(current: readonly string[], next: readonly string[]): string[] {
  return current.filter((s) => !hasScope(next, s));
}

/** An agent key's metadata shows the agent's scopes: that is what the key carries when used. */
export function withAgentScopes(key: KeyMetaT, scopes: readonly string[]): KeyMetaT {
  return { ...key, scopes: [...scopes] };
}
