import { z } from 'zod';
import { AgentId } from './agents.js';
import { Timestamp } from './common.js';
import { UserToken } from './identity.js';

/**
 * Delegations (DESIGN §2, §8): "agent X may use user U's grant G", created when U consents by
 * presenting their ID token. Revoking a delegation leaves the grant intact.
 */

/** Body of `POST /v1/grants/{grant_id}/delegations`. */
export const CreateDelegationBody = z.object({ agent_id: AgentId, user_token: UserToken }).strict();

/** A delegation. `status` is derived from `revoked_at`. */
export const Delegation = z.object({
  delegation_id: z.string(),
  grant_id: z.string().uuid(),
  agent_id: z.string(),
  /** The user who consented. */
  app_user_id: z.string(),
  status: z.enum(['active', 'revoked']),
  created_at: Timestamp,
  revoked_at: Timestamp.nullable(),
});

/** Response of `GET /v1/grants/{grant_id}/delegations`. */
export const DelegationList = z.object({ delegations: z.array(Delegation) });

/** Query of `GET /v1/grants/{grant_id}/delegations`; `include_revoked=true` lists revoked ones too. */
export const ListDelegationsQuery = z.object({ include_revoked: z.enum(['true', 'false']).optional() });

/** Path params naming one delegation. */
export const DelegationParams = z.object({ grant_id: z.string().uuid('not a grant id'), agent_id: AgentId });
