import { LatchkeyError } from '../../../errors.js';
import type { AuthContext } from '../../../http/authenticate.js';
import type { GrantsService, ResolvedGrant } from '../../grants/grants.service.js';

/**
 * Step 4: resolves the grant by id within the caller's app. Another app's grant, or a grant bound to
 * another agent, is `grant_not_found` (404, never 403).
 *
 * @param nowIso the clock, injected.
 * @throws LatchkeyError `grant_not_found`, `grant_revoked`, `grant_expired`.
 */
export async function resolveGrant(
  grants: Pick<GrantsService, 'resolve'>,
  auth: AuthContext,
  grantId: string,
  nowIso: string,
): Promise<ResolvedGrant> {
  const g = await grants.resolve(auth.appId, grantId);
  if (!g) throw new LatchkeyError('grant_not_found');
  if (auth.kind === 'agent' && !(g.principalType === 'agent' && g.agentId === auth.agentId)) {
    throw new LatchkeyError('grant_not_found');
  }
  if (g.revokedAt) throw new LatchkeyError('grant_revoked');
  if (g.expiresAt && g.expiresAt <= nowIso) throw new LatchkeyError('grant_expired');
  return g;
}
