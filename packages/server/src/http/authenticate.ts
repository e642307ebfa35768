import ipaddr from 'ipaddr.js';
import type { Logger } from 'pino';
import { SignatureError } from '../crypto/errors.js';
import { verifyRequestSignature } from '../crypto/request-signature.js';
import { ACT_AS_HEADER, hasScope } from '@latchkey/api';
import { LatchkeyError } from '../errors.js';
import { isPromise, thenMaybe, type MaybePromise } from '../maybe-promise.js';
import type { NonceStore } from '../coordination/nonce-store.js';
import type { RateLimiter } from '../coordination/rate-limit.js';
import type { AgentsService } from '../modules/agents/agents.service.js';
import type { AgentAuthRecord } from '../modules/agents/agents.types.js';
import type { KeyAuthRecord, KeysService } from '../modules/keys/keys.service.js';

/** Who is calling: the result of authentication, attached to every authenticated request. */
export interface AuthContext {
  readonly appId: string;
  readonly keyId: string;
  readonly keyPrefix: string;
  readonly kind: 'app' | 'agent';
  readonly agentId: string | null;
  readonly scopes: readonly string[];
  readonly method: 'signature' | 'bearer';
  readonly deprecated: boolean;
  /** Caller name the SDK sends in `latchkey-caller` (audit only; bounded). */
  readonly caller: string | null;
  /**
   * True when an app key acts as an agent (`latchkey-act-as`): `kind`, `agentId` and `scopes` are the
   * agent's, `keyId` / `keyPrefix` stay the app key's (so audit rows name both).
   */
  readonly actingAs?: boolean;
}

/** The parts of an HTTP request authentication reads. Header names are lowercase. */
export interface AuthInput {
  method: string;
  /** The absolute URI the client signed; read only for signed requests (may be `''` otherwise). */
  targetUri: string;
  headers: Record<string, string | string[] | undefined>;
  body?: Uint8Array | undefined;
  ip: string;
  /** Accept a paused agent (only `GET /v1/agents/me` does). */
  allowPausedAgent?: boolean;
}

/** Authenticates callers by RFC 9421 signature or bearer API key (DESIGN §5). */
export type Authenticator = (req: AuthInput) => Promise<AuthContext>;

function callerOf(headers: AuthInput['headers']): string | null {
  const v = headers['latchkey-caller'];
  const s = Array.isArray(v) ? v[0] : v;
  return s && /^[\x21-\x7e][\x20-\x7e]{0,99}$/.test(s) ? s : null;
}

function ipInCidrs(ip: string, cidrs: readonly string[]): boolean {
  if (cidrs.length === 0) return true;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip);
  } catch {
    return false;
  }
  for (const c of cidrs) {
    try {
      const [range, bits] = ipaddr.parseCIDR(c);
      if (addr.kind() === range.kind() && addr.match([range, bits] as never)) return true;
    } catch {
      /* an unparsable CIDR never matches */
    }
  }
  return false;
}

const AGENT_ID = /^agt_[A-Za-z0-9]{8,64}$/;

/** Refuses a revoked agent, and a paused one unless `allowPaused` (DESIGN §4.1 step 2). */
function checkAgentState(agent: AgentAuthRecord, allowPaused: boolean): void {
  if (agent.status === 'revoked') throw new LatchkeyError('agent_revoked', { details: { agent_id: agent.id } });
  if (agent.status === 'paused' && !allowPaused) {
    throw new LatchkeyError('agent_inactive', { details: { agent_id: agent.id } });
  }
}

/**
 * Creates the authenticator. Unknown key, bad signature, replay and clock skew all give the same
 * `401 unauthorized` body; the reason goes to the debug log only. After a key is proven, its state
 * decides: an agent key's agent first (revoked → `agent_revoked`, paused → `agent_inactive`, so the
 * error names the agent), then the key (revoked → `key_revoked`, expired → `key_expired`, outside
 * its CIDRs → `ip_not_allowed`). An agent key carries its agent's scopes, read at use time.
 *
 * An app key holding `agents:write` may send `latchkey-act-as: <agent id>`: the context then has the
 * agent's identity, scopes and state checks (same boundary as the agent's own key), while the key id
 * and prefix stay the app key's. Other keys sending it get `insufficient_scope`; an agent of another
 * app, or none, is `agent_not_found`.
 *
 * Rate limits: the key's `rate_limit_rpm` (subject `key:<id>`) and the agent's (subject
 * `agent:<id>`, shared by all its keys and by app keys acting as it).
 *
 * @param deps `keys` lookups, `agents` lookup, `nonces` store, `rateLimiter`, `log`.
 */
export function createAuthenticator(deps: {
  keys: Pick<KeysService, 'lookupById' | 'lookupByToken'>;
  agents: Pick<AgentsService, 'lookupForAuth'>;
  nonces: NonceStore;
  rateLimiter?: RateLimiter;
  log: Logger;
}): Authenticator {
  const { keys, nonces, log, rateLimiter, agents } = deps;
  const fail = (reason: string) => {
    log.debug({ reason }, 'authentication failed');
    return new LatchkeyError('unauthorized');
  };

  function agentOf(agentId: string | null): MaybePromise<AgentAuthRecord | undefined> {
    return agentId ? agents.lookupForAuth(agentId) : undefined;
  }

  type Accepted = { ctx: AuthContext; agent: AgentAuthRecord | undefined };

  /**
   * The checks of a proven key and the context it gets. An agent key's agent is checked first (so
   * the error names the agent), then the key. With the agent cached (or an app key not acting as
   * one) this runs without a promise: the proxy's hot path.
   */
  function accept(rec: KeyAuthRecord, method: AuthContext['method'], req: AuthInput): MaybePromise<Accepted> {
    const acting = req.headers[ACT_AS_HEADER] !== undefined;
    if (rec.kind === 'app') {
      const ctx = keyContext(rec, undefined, method, req);
      return acting ? actAs(rec, ctx, req) : { ctx, agent: undefined };
    }
    return thenMaybe(agentOf(rec.agentId), (agent) => {
      // A key whose agent is gone (or belongs elsewhere) proves nothing.
      if (!agent || agent.appId !== rec.appId) throw fail('agent_missing');
      checkAgentState(agent, req.allowPausedAgent === true);
      const ctx = keyContext(rec, agent, method, req);
      if (acting) throw actAsRefused();
      return { ctx, agent };
    });
  }

  /** Refuses a key by its own state (after its agent's state, which names the agent). */
  function keyContext(
    rec: KeyAuthRecord,
    agent: AgentAuthRecord | undefined,
    method: AuthContext['method'],
    req: AuthInput,
  ): AuthContext {
    if (rec.status === 'revoked') throw new LatchkeyError('key_revoked');
    if (rec.status === 'expired') throw new LatchkeyError('key_expired');
    if (method === 'bearer' && rec.signedOnly) throw new LatchkeyError('signed_request_required');
    if (!ipInCidrs(req.ip, rec.cidrs)) throw new LatchkeyError('ip_not_allowed');
    return {
      appId: rec.appId,
      keyId: rec.id,
      keyPrefix: rec.keyPrefix,
      kind: rec.kind,
      agentId: rec.agentId,
      scopes: agent ? agent.scopes : rec.scopes,
      method,
      deprecated: rec.status === 'deprecated',
      caller: callerOf(req.headers),
    };
  }

  const actAsRefused = () =>
    new LatchkeyError('insufficient_scope', {
      message: `Only an app key with agents:write may send ${ACT_AS_HEADER}.`,
      details: { required_scope: 'agents:write' },
    });

  /** An app key acting as one of its app's agents (`latchkey-act-as`): the agent's identity and scopes. */
  function actAs(rec: KeyAuthRecord, ctx: AuthContext, req: AuthInput): MaybePromise<Accepted> {
    if (!hasScope(rec.scopes, 'agents:write')) throw actAsRefused();
    const id = req.headers[ACT_AS_HEADER];
    return thenMaybe(typeof id === 'string' && AGENT_ID.test(id) ? agentOf(id) : undefined, (target) => {
      // Another app's agent is indistinguishable from a missing one (404, never 403).
      if (!target || target.appId !== rec.appId) throw new LatchkeyError('agent_not_found');
      checkAgentState(target, req.allowPausedAgent === true);
      return {
        ctx: { ...ctx, kind: 'agent', agentId: target.id, scopes: target.scopes, actingAs: true },
        agent: target,
      };
    });
  }

  /** The key's and the agent's rate limits; without any, the context as is (no promise). */
  function limit(accepted: Accepted, rec: KeyAuthRecord): MaybePromise<AuthContext> {
    const { ctx, agent } = accepted;
    if (!rateLimiter || (!rec.rateLimitRpm && !agent?.rateLimitRpm)) return ctx;
    return (async () => {
      if (rec.rateLimitRpm) await rateLimiter.consume(`key:${rec.id}`, rec.rateLimitRpm);
      if (agent?.rateLimitRpm) await rateLimiter.consume(`agent:${agent.id}`, agent.rateLimitRpm);
      return ctx;
    })();
  }

  return async (req) => {
    if (req.headers['signature-input'] !== undefined || req.headers['signature'] !== undefined) {
      let found: KeyAuthRecord | undefined;
      try {
        await verifyRequestSignature(
          { method: req.method, targetUri: req.targetUri, headers: req.headers, body: req.body },
          {
            now: Date.now,
            lookupSigningKey: async (keyId) => {
              found = await keys.lookupById(keyId);
              return found?.signingKey;
            },
            consumeNonce: (keyId, nonce, ttlMs) => nonces.consume(keyId, nonce, ttlMs),
          },
        );
      } catch (err) {
        if (err instanceof SignatureError) throw fail(err.reason);
        throw err;
      }
      const accepted = accept(found!, 'signature', req);
      return limit(isPromise(accepted) ? await accepted : accepted, found!);
    }
    const authz = req.headers['authorization'];
    if (typeof authz === 'string' && /^bearer /i.test(authz)) {
      const found = keys.lookupByToken(authz.slice(7).trim());
      const rec = isPromise(found) ? await found : found;
      if (!rec) throw fail('unknown_key');
      const accepted = accept(rec, 'bearer', req);
      return limit(isPromise(accepted) ? await accepted : accepted, rec);
    }
    throw fail('missing');
  };
}
