import ipaddr from 'ipaddr.js';
import type { Logger } from 'pino';
import { SignatureError } from '../crypto/errors.js';
import { verifyRequestSignature } from '../crypto/request-signature.js';
import { LatchkeyError } from '../errors.js';
import type { NonceStore } from '../coordination/nonce-store.js';
import type { RateLimiter } from '../coordination/rate-limit.js';
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
}

/** The parts of an HTTP request authentication reads. Header names are lowercase. */
export interface AuthInput {
  method: string;
  targetUri: string;
  headers: Record<string, string | string[] | undefined>;
  body?: Uint8Array | undefined;
  ip: string;
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

/**
 * Creates the authenticator. Unknown key, bad signature, replay and clock skew all give the same
 * `401 unauthorized` body; the reason goes to the debug log only. After a key is proven, its state
 * decides: revoked → `key_revoked`, expired → `key_expired`, outside its CIDRs → `ip_not_allowed`.
 *
 * @param deps `keys` lookups, `nonces` store, `log`.
 */
export function createAuthenticator(deps: {
  keys: Pick<KeysService, 'lookupById' | 'lookupByToken'>;
  nonces: NonceStore;
  rateLimiter?: RateLimiter;
  log: Logger;
}): Authenticator {
  const { keys, nonces, log, rateLimiter } = deps;
  const fail = (reason: string) => {
    log.debug({ reason }, 'authentication failed');
    return new LatchkeyError('unauthorized');
  };

  function accept(
    rec: KeyAuthRecord,
    method: AuthContext['method'],
    ip: string,
    headers: AuthInput['headers'],
  ): AuthContext {
    if (rec.status === 'revoked') throw new LatchkeyError('key_revoked');
    if (rec.status === 'expired') throw new LatchkeyError('key_expired');
    if (method === 'bearer' && rec.signedOnly) throw new LatchkeyError('signed_request_required');
    if (!ipInCidrs(ip, rec.cidrs)) throw new LatchkeyError('ip_not_allowed');
    return {
      appId: rec.appId,
      keyId: rec.id,
      keyPrefix: rec.keyPrefix,
      kind: rec.kind,
      agentId: rec.agentId,
      scopes: rec.scopes,
      method,
      deprecated: rec.status === 'deprecated',
      caller: callerOf(headers),
    };
  }

  async function limit(ctx: AuthContext, rec: KeyAuthRecord): Promise<AuthContext> {
    if (rateLimiter && rec.rateLimitRpm) await rateLimiter.consume(`key:${rec.id}`, rec.rateLimitRpm);
    return ctx;
  }

  return async (req) => {
    if (req.headers['signature-input'] !== undefined || req.headers['signature'] !== undefined) {
      let found: KeyAuthRecord | undefined;
      try {
        await verifyRequestSignature(
          { method: req.method, targetUri: req.targetUri, headers: req.headers, body: req.body },
          {
            nowMs: Date.now(),
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
      return limit(accept(found!, 'signature', req.ip, req.headers), found!);
    }
    const authz = req.headers['authorization'];
    if (typeof authz === 'string' && /^bearer /i.test(authz)) {
      const rec = await keys.lookupByToken(authz.slice(7).trim());
      if (!rec) throw fail('unknown_key');
      return limit(accept(rec, 'bearer', req.ip, req.headers), rec);
    }
    throw fail('missing');
  };
}
