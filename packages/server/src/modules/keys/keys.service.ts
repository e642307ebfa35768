import ipaddr from 'ipaddr.js';
import type { z } from 'zod';
import type { KeyMeta, MintKeyBody } from '@latchkey/api';
import { deriveSigningKey, generateToken, hashToken, timingSafeEqualStrings } from '../../crypto/tokens.js';
import { LatchkeyError } from '../../errors.js';
import type { Cache, InvalidationBus } from '../../coordination/index.js';
import type { ApiKeysTable, Db } from '../../store/types.js';
import type { AuditService } from '../audit/audit.service.js';
import type { KeyringService } from '../keyring/keyring.service.js';
import { deriveKeyId, keyPrefixOf, keyStatus } from './keys.fns.js';
import * as repo from './keys.repo.js';

function isValidCidr(c: string): boolean {
  try {
    ipaddr.parseCIDR(c);
    return true;
  } catch {
    return false;
  }
}

/** What authentication needs to know about a key; the signing key is unsealed only here. */
export interface KeyAuthRecord {
  id: string;
  appId: string;
  kind: 'app' | 'agent';
  agentId: string | null;
  keyPrefix: string;
  scopes: readonly string[];
  cidrs: readonly string[];
  signedOnly: boolean;
  /** Requests per minute, or null for unlimited. */
  rateLimitRpm: number | null;
  status: 'active' | 'deprecated' | 'revoked' | 'expired';
  expiresAt: string | null;
  signingKey: Buffer;
  /** SHA-256 hex of the key (for bearer comparison). */
  keyHash: string;
}

/** Who performed an action, for audit rows. */
export interface Actor {
  keyPrefix: string | null;
  caller?: string | null;
}

/** App API keys: mint (shown once), list metadata, revoke, and lookups for authentication. */
export interface KeysService {
  mint(
    appId: string,
    input: z.infer<typeof MintKeyBody>,
    actor: Actor,
  ): Promise<{ key: z.infer<typeof KeyMeta>; apiKey: string }>;
  list(
    appId: string,
    page: { limit: number; offset: number },
  ): Promise<{ keys: z.infer<typeof KeyMeta>[]; total: number }>;
  revoke(appId: string, keyId: string, actor: Actor): Promise<z.infer<typeof KeyMeta>>;
  /** Key by public id with its unsealed signing key (cached per replica, invalidated on change). */
  lookupById(keyId: string): Promise<KeyAuthRecord | undefined>;
  /** Key by its raw value (bearer auth); compares by SHA-256. */
  lookupByToken(apiKey: string): Promise<KeyAuthRecord | undefined>;
}

/** Converts a row to its public metadata. */
function toMeta(row: ApiKeysTable, nowIso: string): z.infer<typeof KeyMeta> {
  return {
    key_id: row.id,
    key_prefix: row.key_prefix,
    kind: row.kind as 'app' | 'agent',
    name: row.name,
    scopes: JSON.parse(row.scopes) as string[],
    cidrs: JSON.parse(row.cidrs) as string[],
    status: keyStatus(row, nowIso),
    signed_only: row.signed_only === 1,
    rate_limit_rpm: row.rate_limit_rpm,
    created_at: row.created_at,
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
  };
}

/**
 * Creates the keys service.
 *
 * @param deps `db`, `keyring` (seals signing keys under the app KEK), `audit`, the auth-record `cache` and the invalidation `bus`.
 */
export function createKeysService(deps: {
  db: Db;
  keyring: Pick<KeyringService, 'sealWithKek' | 'openWithKek'>;
  audit: Pick<AuditService, 'record' | 'recordBestEffort' | 'assertWritable'>;
  /** Per-replica cache of auth records, invalidated cluster-wide through `bus`. */
  cache: Cache<{ rec: KeyAuthRecord | undefined }>;
  bus: Pick<InvalidationBus, 'publish'>;
  now?: () => Date;
}): KeysService {
  const { db, keyring, audit } = deps;
  const now = deps.now ?? (() => new Date());
  const { cache, bus } = deps;

  async function toAuth(row: ApiKeysTable): Promise<KeyAuthRecord> {
    const signingKey = await keyring.openWithKek(
      { appId: row.app_id, table: 'api_keys', recordId: row.id, field: 'signing_key' },
      row.signing_key_sealed,
    );
    return {
      id: row.id,
      appId: row.app_id,
      kind: row.kind as 'app' | 'agent',
      agentId: row.agent_id,
      keyPrefix: row.key_prefix,
      scopes: Object.freeze(JSON.parse(row.scopes) as string[]),
      cidrs: Object.freeze(JSON.parse(row.cidrs) as string[]),
      signedOnly: row.signed_only === 1,
      rateLimitRpm: row.rate_limit_rpm,
      status: keyStatus(row, now().toISOString()),
      expiresAt: row.expires_at,
      signingKey,
      keyHash: row.key_hash,
    };
  }

  async function lookupById(keyId: string): Promise<KeyAuthRecord | undefined> {
    const { rec } = await cache.getOrLoad(keyId, async () => {
      const row = await repo.findKeyById(db, keyId);
      return { rec: row ? await toAuth(row) : undefined };
    });
    // Expiry is derived from the clock at use time, not from when the record was cached.
    if (rec && rec.status !== 'revoked' && rec.expiresAt && rec.expiresAt <= now().toISOString()) {
      return { ...rec, status: 'expired' };
    }
    return rec;
  }

  return {
    async mint(appId, input, actor) {
      audit.assertWritable();
      const apiKey = generateToken('lk_app_');
      const id = deriveKeyId(apiKey);
      const createdAt = now().toISOString();
      if (input.expires_at && new Date(input.expires_at).getTime() <= now().getTime()) {
        throw new LatchkeyError('invalid_request', {
          message: 'expires_at must be in the future.',
          details: { field: 'expires_at' },
        });
      }
      // Past year 9999 in UTC the ISO form is "+010000-…": it breaks text ordering and the key list.
      if (input.expires_at && new Date(input.expires_at).getUTCFullYear() > 9999) {
        throw new LatchkeyError('invalid_request', {
          message: 'expires_at must be before the year 10000 (UTC).',
          details: { field: 'expires_at' },
        });
      }
      // The schema checks the CIDR shape only; an unparsable entry would store a key usable from nowhere.
      for (const c of input.cidrs ?? []) {
        if (!isValidCidr(c))
          throw new LatchkeyError('invalid_request', {
            message: 'cidrs holds an entry that is not a valid CIDR.',
            details: { field: 'cidrs' },
          });
      }
      const signingKey = deriveSigningKey(apiKey);
      const row: ApiKeysTable = {
        id,
        app_id: appId,
        kind: 'app',
        agent_id: null,
        name: input.name ?? null,
        key_prefix: keyPrefixOf(apiKey),
        key_hash: hashToken(apiKey),
        signing_key_sealed: await keyring.sealWithKek(
          { appId, table: 'api_keys', recordId: id, field: 'signing_key' },
          signingKey,
        ),
        scopes: JSON.stringify([...new Set(input.scopes)]),
        cidrs: JSON.stringify(input.cidrs ?? []),
        signed_only: input.signed_only ? 1 : 0,
        status: 'active',
        created_at: createdAt,
        expires_at: input.expires_at ? new Date(input.expires_at).toISOString() : null,
        revoked_at: null,
        rate_limit_rpm: input.rate_limit_rpm ?? null,
      };
      signingKey.fill(0);
      await repo.insertKey(db, row);
      bus.publish('key', id);
      await audit.record({
        event: 'key.minted',
        appId,
        actor,
        outcome: 'success',
        details: { key_id: id, key_prefix: row.key_prefix },
      });
      return { key: toMeta(row, createdAt), apiKey };
    },
    async list(appId, page) {
      const { rows, total } = await repo.listKeys(db, appId, page);
      const nowIso = now().toISOString();
      return { keys: rows.map((r) => toMeta(r, nowIso)), total };
    },
    async revoke(appId, keyId, actor) {
      const row = await repo.findKeyById(db, keyId);
      if (!row || row.app_id !== appId) throw new LatchkeyError('key_not_found');
      const nowIso = now().toISOString();
      await repo.revokeKey(db, appId, keyId, nowIso);
      bus.publish('key', keyId);
      const after = (await repo.findKeyById(db, keyId))!;
      if (!row.revoked_at) {
        await audit.recordBestEffort({
          event: 'key.revoked',
          appId,
          actor,
          outcome: 'success',
          details: { key_id: keyId, key_prefix: row.key_prefix },
        });
      }
      return toMeta(after, nowIso);
    },
    lookupById,
    async lookupByToken(apiKey) {
      if (!/^lk_(app|agent)_[0-9A-Za-z]{20,100}$/.test(apiKey)) return undefined;
      const rec = await lookupById(deriveKeyId(apiKey));
      // The id is derived from the key, so also compare the stored SHA-256 to rule out id collisions.
      return rec && timingSafeEqualStrings(rec.keyHash, hashToken(apiKey)) ? rec : undefined;
    },
  };
}
