/**
 * Delegations (DESIGN §2, §8): "agent X may use user U's grant G", created when U consents with
 * their ID token. Wire mapping is explicit per field. Internal; `App` exposes these.
 */
import { LatchkeyValueError } from './errors.js';
import type { Transport } from './transport.js';
import { assertGrantId, assertString, isObject } from './validate.js';
import { deepFreeze, seg, toDate, toDateOrNull } from './wire.js';

/** A delegation of a user's grant to an agent. Frozen. */
export interface Delegation {
  readonly delegationId: string;
  readonly grantId: string;
  readonly agentId: string;
  /** The user who consented. */
  readonly appUserId: string;
  readonly status: 'active' | 'revoked';
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

/** Options of `app.createDelegation()`. */
export interface CreateDelegationOptions {
  /** The agent (`agt_…`) that may use the grant. */
  readonly agentId: string;
  /** The grant's user consents by presenting their ID token. */
  readonly userToken: string;
}

/** Wire body of `POST /v1/grants/{grant_id}/delegations`. */
export interface WireCreateDelegationBody {
  agent_id: string;
  user_token: string;
}

/** Wire form of a delegation. */
export interface WireDelegation {
  delegation_id: string;
  grant_id: string;
  agent_id: string;
  app_user_id: string;
  status: 'active' | 'revoked';
  created_at: string;
  revoked_at: string | null;
}

/** Wire answer of `GET /v1/grants/{grant_id}/delegations`. */
export interface WireDelegationList {
  delegations: WireDelegation[];
}

const AGENT_ID = /^agt_[A-Za-z0-9]{8,64}$/;

function assertAgentId(v: unknown): asserts v is string {
  if (typeof v !== 'string' || !AGENT_ID.test(v)) throw new LatchkeyValueError('agentId must be an agent id (agt_…).');
}

/** Maps a wire delegation to a frozen {@link Delegation}. */
export function toDelegation(w: WireDelegation): Delegation {
  return deepFreeze({
    delegationId: w.delegation_id,
    grantId: w.grant_id,
    agentId: w.agent_id,
    appUserId: w.app_user_id,
    status: w.status,
    createdAt: toDate(w.created_at),
    revokedAt: toDateOrNull(w.revoked_at),
  });
}

/** `POST /v1/grants/{grant_id}/delegations`. */
export async function createDelegation(
  t: Transport,
  grantId: string,
  options: CreateDelegationOptions,
): Promise<Delegation> {
  assertGrantId(grantId);
  if (!isObject(options)) throw new LatchkeyValueError('options must be an object with agentId and userToken.');
  assertAgentId(options.agentId);
  assertString(options.userToken, 'userToken', 8192);
  const body: WireCreateDelegationBody = { agent_id: options.agentId, user_token: options.userToken };
  return t.json('POST', `/v1/grants/${seg(grantId)}/delegations`, { body }, toDelegation);
}

/** `GET /v1/grants/{grant_id}/delegations`. */
export async function listDelegations(
  t: Transport,
  grantId: string,
  options: { readonly includeRevoked?: boolean } = {},
): Promise<readonly Delegation[]> {
  assertGrantId(grantId);
  if (!isObject(options)) throw new LatchkeyValueError('options must be an object.');
  const query = options.includeRevoked === undefined ? {} : { include_revoked: options.includeRevoked };
  return t.json('GET', `/v1/grants/${seg(grantId)}/delegations`, { query }, (w: WireDelegationList) =>
    Object.freeze(w.delegations.map(toDelegation)),
  );
}

/** `DELETE /v1/grants/{grant_id}/delegations/{agent_id}`. */
export async function revokeDelegation(t: Transport, grantId: string, agentId: string): Promise<Delegation> {
  assertGrantId(grantId);
  assertAgentId(agentId);
  return t.json('DELETE', `/v1/grants/${seg(grantId)}/delegations/${seg(agentId)}`, {}, toDelegation);
}
