import { LatchkeyError } from '../../../errors.js';
import { thenMaybe, type MaybePromise } from '../../../maybe-promise.js';
import type { AuthContext } from '../../../http/authenticate.js';
import type { DelegationsService } from '../../delegations/delegations.service.js';
import type { GrantsService, ResolvedGrant, UserGrantCandidate } from '../../grants/grants.service.js';
import type { IdentityService } from '../../identity/identity.service.js';

/** What step 4 reads: grants, and for user grants the delegations (agents) and identity (user tokens). */
export interface ResolveDeps {
  grants: Pick<GrantsService, 'resolve' | 'findForUser'>;
  delegations?: Pick<DelegationsService, 'isDelegated'> | undefined;
  identity?: Pick<IdentityService, 'verifyUserToken'> | undefined;
}

/** A call that names its grant by provider and the user's ID token instead of a grant id. */
export interface GrantSelector {
  /** Provider (template) id, e.g. `github`. */
  provider: string;
  userToken: string;
  /** Account identifier (a grant's label, else its secret's slug) to pick among several grants. */
  account: string | null;
}

/** Whether the caller reaches `g`: an app key any grant of its app; an agent its own, or a user grant delegated to it. */
function reachable(deps: ResolveDeps, auth: AuthContext, g: ResolvedGrant): MaybePromise<boolean> {
  if (auth.kind !== 'agent') return true;
  if (g.principalType === 'agent') return g.agentId === auth.agentId;
  // An agent never reaches a user grant without a live delegation, nor a system or group grant.
  return g.principalType === 'user' && !!auth.agentId && !!deps.delegations
    ? deps.delegations.isDelegated(g.id, auth.agentId)
    : false;
}

function checkState(g: ResolvedGrant, nowIso: string): ResolvedGrant {
  if (g.revokedAt) throw new LatchkeyError('grant_revoked');
  if (g.expiresAt && g.expiresAt <= nowIso) throw new LatchkeyError('grant_expired');
  return g;
}

/**
 * Step 4: resolves the grant by id within the caller's app. Another app's grant, a grant bound to
 * another agent, and (for an agent) a user grant not delegated to it are `grant_not_found` (404,
 * never 403). A cached grant is returned as is (no promise), except a user grant an agent reaches
 * through a delegation (read asynchronously); a cache miss is a promise.
 *
 * @param nowIso the clock, injected.
 * @throws LatchkeyError `grant_not_found`, `grant_revoked`, `grant_expired` (at once, or as a rejection).
 */
export function resolveGrant(
  deps: ResolveDeps,
  auth: AuthContext,
  grantId: string,
  nowIso: string,
): MaybePromise<ResolvedGrant> {
  return thenMaybe(deps.grants.resolve(auth.appId, grantId), (g) => {
    if (!g) throw new LatchkeyError('grant_not_found');
    return thenMaybe(reachable(deps, auth, g), (ok) => {
      if (!ok) throw new LatchkeyError('grant_not_found');
      return checkState(g, nowIso);
    });
  });
}

/**
 * Step 4 for a call naming `provider` + the user's ID token (DESIGN §4.1): verifies the token, then
 * gathers the user's own active grants for the provider and the group grants of the groups in the
 * token's group claim. An agent caller keeps only the user grants delegated to it. One candidate
 * (after `account`, if given) is used; several → `409 ambiguous_grant` with `details.accounts` (labels
 * or secret slugs, never secret material); none → `404 grant_not_found`.
 *
 * @param onUser told the verified user before any grant is looked at, so a refusal after the token
 *   was verified (`ambiguous_grant`, `grant_not_found`) is still audited with the user.
 * @returns the grant and the user the call is made for (audit `principal.app_user_id`).
 * @throws LatchkeyError `identity_provider_not_found`, `invalid_user_token`,
 *   `identity_provider_unavailable`, `ambiguous_grant`, `grant_not_found`, `grant_revoked`, `grant_expired`.
 */
export async function resolveGrantForUser(
  deps: ResolveDeps,
  auth: AuthContext,
  sel: GrantSelector,
  nowIso: string,
  onUser?: (appUserId: string) => void,
): Promise<{ grant: ResolvedGrant; appUserId: string }> {
  if (!deps.identity) throw new LatchkeyError('identity_provider_not_found');
  const user = await deps.identity.verifyUserToken(auth.appId, sel.userToken);
  onUser?.(user.appUserId);
  const found = await deps.grants.findForUser(auth.appId, {
    providerId: sel.provider,
    appUserId: user.appUserId,
    idpId: user.idpId,
    groups: user.groups,
  });
  let candidates: UserGrantCandidate[] = [];
  for (const c of found) if (await reachable(deps, auth, c.grant)) candidates.push(c);
  if (sel.account !== null) candidates = candidates.filter((c) => c.account === sel.account);
  if (candidates.length === 0) throw new LatchkeyError('grant_not_found');
  if (candidates.length > 1) {
    throw new LatchkeyError('ambiguous_grant', {
      details: { accounts: [...new Set(candidates.map((c) => c.account))].sort() },
    });
  }
  // Through the grant cache, so a revocation seen by this replica applies even to a stale candidate list.
  const g = await deps.grants.resolve(auth.appId, candidates[0]!.grant.id);
  if (!g) throw new LatchkeyError('grant_not_found');
  return { grant: checkState(g, nowIso), appUserId: user.appUserId };
}
