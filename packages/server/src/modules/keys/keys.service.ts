import type { z } from 'zod';
import type { AgentKeyOptions, KeyMeta, MintKeyBody } from '@latchkey/api';
import { deriveSigningKey, digestsEqual, generateToken, hashToken, tokenDigest } from '../../crypto/tokens.js';
import { LatchkeyError } from '../../errors.js';
import { thenMaybe, type MaybePromise } from '../../maybe-promise.js';
import type { Cache, InvalidationBus } from '../../coordination/index.js';
import type { PointLookup } from '../../store/point-lookup.js';
import type { ApiKeysTable, Db, Executor } from '../../store/types.js';
import type { AuditService } from '../audit/audit.service.js';
import type { KeyringService } from '../keyring/keyring.service.js';
import { assertKeyOptions, deriveKeyId, isActiveKey, keyPrefixOf, keyStatus } from './keys.fns.js';
import * as repo from './keys.repo.js';

/** A stored key hash: lowercase hex SHA-256, as `hashToken` writes it. */
const STORED_HASH = /^[0-9a-f]{64}$/;
/**
 * The bytes of a stored key hash, in their own allocation (a cached record must not keep a slab of
 * Node's shared Buffer pool alive). A malformed hash, never written by this code, matches nothing.
 */
function storedDigest(hex: string): Buffer {
  if (!STORED_HASH.test(hex)) return Buffer.alloc(0);
  const out = Buffer.allocUnsafeSlow(32);
  out.write(hex, 'hex');
  return out;
}

/** Bound of the token-hash → key-id memo of bearer authentication (cleared when full). */
const KEY_ID_MEMO_MAX = 10_000;

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
  /** SHA-256 of the key, 32 bytes (for bearer comparison). */
  keyDigest: Buffer;
}

/** Who performed an action, for audit rows. */
export interface Actor {
  keyPrefix: string | null;
  caller?: string | null;
  /** The acting agent (its own key, or an app key acting as it), if any. */
  agentId?: string | null;
}

type KeyMetaT = z.infer<typeof KeyMeta>;

/** Options of an agent key; its scopes are the agent's. */
export type AgentKeyInput = z.infer<typeof AgentKeyOptions>;

/**
 * A validated, sealed agent key not yet written, so a caller can insert it in its own transaction
 * (sealing may read the KEK: it must not run inside one).
 */
export interface PreparedKey {
  readonly key: KeyMetaT;
  /** The raw key, shown once. */
  readonly apiKey: string;
  /** Inserts the key row with `ex` (the caller's transaction). */
  insert(ex: Executor): Promise<void>;
  /** After commit: invalidates caches and records `key.minted`. @throws `audit_unavailable` */
  committed(actor: Actor, details?: Record<string, string | number | boolean | null>): Promise<void>;
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
  /**
   * Key by public id with its unsealed signing key (cached per replica, invalidated on change).
   * A cache hit is returned as the record itself, a miss as a promise.
   */
  lookupById(keyId: string): MaybePromise<KeyAuthRecord | undefined>;
  /** Key by its raw value (bearer auth); compares by SHA-256. A cache hit is returned as is, a miss as a promise. */
  lookupByToken(apiKey: string): MaybePromise<KeyAuthRecord | undefined>;
  /** Metadata of one key of the app (app or agent key), or undefined. */
  getMeta(appId: string, keyId: string): Promise<KeyMetaT | undefined>;
  /** Validates and seals an agent key (`lk_agent_…`) without writing it. @throws `invalid_request`, `audit_unavailable` */
  prepareAgentKey(
    appId: string,
    agentId: string,
    input: AgentKeyInput,
    scopes: readonly string[],
  ): Promise<PreparedKey>;
  /** Mints an agent key, shown once. @throws `invalid_request`, `audit_unavailable` */
  mintForAgent(
    appId: string,
    agentId: string,
    input: AgentKeyInput,
    scopes: readonly string[],
    actor: Actor,
  ): Promise<{ key: KeyMetaT; apiKey: string }>;
  /** A page of an agent's keys (every status), newest first. */
  listForAgent(
    appId: string,
    agentId: string,
    page: { limit: number; offset: number },
  ): Promise<{ keys: KeyMetaT[]; total: number }>;
  /**
   * Deprecates an agent key: it keeps working and every response says `latchkey-key-deprecated: true`.
   * @throws `key_not_found`, `key_not_active` (revoked or expired)
   */
  deprecateAgentKey(appId: string, agentId: string, keyId: string, actor: Actor): Promise<KeyMetaT>;
  /** Makes a deprecated agent key active again (its expiry is kept). @throws `key_not_found`, `key_not_active` */
  undeprecateAgentKey(appId: string, agentId: string, keyId: string, actor: Actor): Promise<KeyMetaT>;
  /**
   * Mints a new agent key (same name, CIDRs, RPM and `signed_only`) and deprecates the old one,
   * which then expires `graceSeconds` from now (or earlier, if it already did).
   * @throws `key_not_found`, `key_not_active`, `invalid_request`, `audit_unavailable`
   */
  rotateAgentKey(
    appId: string,
    agentId: string,
    keyId: string,
    opts: { graceSeconds: number; expiresAt?: string | undefined },
    scopes: readonly string[],
    actor: Actor,
  ): Promise<{ key: KeyMetaT; apiKey: string; previous: KeyMetaT }>;
  /**
   * Revokes an agent key (idempotent). Revoking the agent's last active key needs `force`.
   * @throws `key_not_found`, `last_active_key`
   */
  revokeAgentKey(
    appId: string,
    agentId: string,
    keyId: string,
    opts: { force: boolean },
    actor: Actor,
  ): Promise<KeyMetaT>;
  /** Revokes every key of an agent (agent revocation); returns how many changed. */
  revokeAllForAgent(appId: string, agentId: string, actor: Actor): Promise<number>;
}

/** Converts a row to its public metadata. */
function toMeta(row: ApiKeysTable, nowIso: string): KeyMetaT {
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
  /** Prepared read of a key by id (authentication's cache-miss path). */
  findById: PointLookup<'api_keys'>;
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
      keyDigest: storedDigest(row.key_hash),
    };
  }

  const keyIdByHash = new Map<string, string>();

  /** Expiry is derived from the clock at use time, not from when the record was cached. */
  function atUse(rec: KeyAuthRecord | undefined): KeyAuthRecord | undefined {
    if (rec && rec.status !== 'revoked' && rec.expiresAt && rec.expiresAt <= now().toISOString()) {
      return { ...rec, status: 'expired' };
    }
    return rec;
  }

  function lookupById(keyId: string): MaybePromise<KeyAuthRecord | undefined> {
    const hit = cache.getOrLoad(keyId, async () => {
      const row = await deps.findById(keyId);
      return { rec: row ? await toAuth(row) : undefined };
    });
    return thenMaybe(hit, ({ rec }) => atUse(rec));
  }

  /** The key row of `agentId` named `keyId`, or `key_not_found` (other apps' and agents' keys too). */
  async function agentKeyRow(appId: string, agentId: string, keyId: string): Promise<ApiKeysTable> {
    const row = await repo.findKeyById(db, keyId);
    if (!row || row.app_id !== appId || row.kind !== 'agent' || row.agent_id !== agentId) {
      throw new LatchkeyError('key_not_found');
    }
    return row;
  }

  function keyAudit(row: ApiKeysTable, extra: Record<string, string | number | boolean | null> = {}) {
    return { key_id: row.id, key_prefix: row.key_prefix, agent_id: row.agent_id, ...extra };
  }

  /**
   * Mints a key: a fresh `lk_app_` / `lk_agent_` token, its public id, SHA-256 and signing key sealed
   * under the app KEK. The raw token is returned once and never stored.
   */
  async function newKeyRow(
    appId: string,
    kind: 'app' | 'agent',
    agentId: string | null,
    input: AgentKeyInput,
    scopes: readonly string[],
  ): Promise<{ row: ApiKeysTable; apiKey: string }> {
    assertKeyOptions(input, now());
    const apiKey = generateToken(kind === 'app' ? 'lk_app_' : 'lk_agent_');
    const id = deriveKeyId(apiKey);
    const signingKey = deriveSigningKey(apiKey);
    try {
      const row: ApiKeysTable = {
        id,
        app_id: appId,
        kind,
        agent_id: agentId,
        name: input.name ?? null,
        key_prefix: keyPrefixOf(apiKey),
        key_hash: hashToken(apiKey),
        signing_key_sealed: await keyring.sealWithKek(
          { appId, table: 'api_keys', recordId: id, field: 'signing_key' },
          signingKey,
        ),
        scopes: JSON.stringify([...new Set(scopes)]),
        cidrs: JSON.stringify(input.cidrs ?? []),
        signed_only: input.signed_only ? 1 : 0,
        status: 'active',
        created_at: now().toISOString(),
        expires_at: input.expires_at ? new Date(input.expires_at).toISOString() : null,
        revoked_at: null,
        rate_limit_rpm: input.rate_limit_rpm ?? null,
      };
      return { row, apiKey };
    } finally {
      signingKey.fill(0);
    }
  }

  async function prepareAgentKey(
    appId: string,
    agentId: string,
    input: AgentKeyInput,
    scopes: readonly string[],
  ): Promise<PreparedKey> {
    audit.assertWritable();
    // Informational: authentication reads the agent's scopes, so widening applies to this key.
    const { row, apiKey } = await newKeyRow(appId, 'agent', agentId, input, scopes);
    const { id, created_at: createdAt } = row;
    return {
      key: toMeta(row, createdAt),
      apiKey,
      insert: (ex) => repo.insertKey(ex, row),
      async committed(actor, details = {}) {
        bus.publish('key', id);
        await audit.record({
          event: 'key.minted',
          appId,
          actor,
          outcome: 'success',
          details: keyAudit(row, details),
        });
      },
    };
  }

  /** Sets a live agent key's status; refuses revoked and expired keys. */
  async function setAgentKeyStatus(
    appId: string,
    agentId: string,
    keyId: string,
    status: 'active' | 'deprecated',
    actor: Actor,
  ): Promise<KeyMetaT> {
    const row = await agentKeyRow(appId, agentId, keyId);
    const nowIso = now().toISOString();
    const current = keyStatus(row, nowIso);
    if (current === 'revoked' || current === 'expired') {
      throw new LatchkeyError('key_not_active', { details: { key_id: keyId, status: current } });
    }
    if (status === 'active') audit.assertWritable();
    if (current !== status) {
      await repo.updateLiveKey(db, appId, keyId, { status });
      bus.publish('key', keyId);
      const input = {
        event: status === 'deprecated' ? ('key.deprecated' as const) : ('key.undeprecated' as const),
        appId,
        actor,
        outcome: 'success' as const,
        details: keyAudit(row),
      };
      // Deprecation only restricts; making a key active again is a change that must be audited.
      if (status === 'deprecated') await audit.recordBestEffort(input);
      else await audit.record(input);
    }
    return toMeta((await repo.findKeyById(db, keyId))!, nowIso);
  }

  return {
    async mint(appId, input, actor) {
      audit.assertWritable();
      const { row, apiKey } = await newKeyRow(appId, 'app', null, input, input.scopes);
      const { id, created_at: createdAt } = row;
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
      // Agent keys are managed under /v1/agents/{id}/keys, where the last-active-key rule holds.
      if (!row || row.app_id !== appId || row.kind !== 'app') throw new LatchkeyError('key_not_found');
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
    lookupByToken(apiKey) {
      if (apiKey.length > 120) return undefined;
      const digest = tokenDigest(apiKey);
      // key id by token hash: the id is a pure function of the key, so this memo never goes stale;
      // it spares the HMAC on every bearer request. Only well-formed keys are remembered. The map
      // is keyed by the digest's bytes as a 32-character string, never by the key itself.
      const memoKey = digest.toString('latin1');
      let keyId = keyIdByHash.get(memoKey);
      if (keyId === undefined) {
        if (!/^lk_(app|agent)_[0-9A-Za-z]{20,100}$/.test(apiKey)) return undefined;
        keyId = deriveKeyId(apiKey);
        if (keyIdByHash.size >= KEY_ID_MEMO_MAX) keyIdByHash.clear();
        keyIdByHash.set(memoKey, keyId);
      }
      // The id is derived from the key, so also compare the stored SHA-256 to rule out id collisions.
      return thenMaybe(lookupById(keyId), (rec) => (rec && digestsEqual(rec.keyDigest, digest) ? rec : undefined));
    },
    async getMeta(appId, keyId) {
      const row = await repo.findKeyById(db, keyId);
      return row && row.app_id === appId ? toMeta(row, now().toISOString()) : undefined;
    },
    prepareAgentKey,
    async mintForAgent(appId, agentId, input, scopes, actor) {
      const prepared = await prepareAgentKey(appId, agentId, input, scopes);
      await prepared.insert(db);
      await prepared.committed(actor);
      return { key: prepared.key, apiKey: prepared.apiKey };
    },
    async listForAgent(appId, agentId, page) {
      const { rows, total } = await repo.listAgentKeys(db, appId, agentId, page);
      const nowIso = now().toISOString();
      return { keys: rows.map((r) => toMeta(r, nowIso)), total };
    },
    deprecateAgentKey: (appId, agentId, keyId, actor) => setAgentKeyStatus(appId, agentId, keyId, 'deprecated', actor),
    undeprecateAgentKey: (appId, agentId, keyId, actor) => setAgentKeyStatus(appId, agentId, keyId, 'active', actor),
    async rotateAgentKey(appId, agentId, keyId, opts, scopes, actor) {
      const old = await agentKeyRow(appId, agentId, keyId);
      const notActive = (r: ApiKeysTable) => {
        const st = keyStatus(r, now().toISOString());
        return st === 'revoked' || st === 'expired' ? st : null;
      };
      const was = notActive(old);
      if (was) throw new LatchkeyError('key_not_active', { details: { key_id: keyId, status: was } });
      const prepared = await prepareAgentKey(
        appId,
        agentId,
        {
          name: old.name ?? undefined,
          cidrs: JSON.parse(old.cidrs) as string[],
          rate_limit_rpm: old.rate_limit_rpm ?? undefined,
          signed_only: old.signed_only === 1,
          expires_at: opts.expiresAt,
        },
        scopes,
      );
      const graceEnd = new Date(now().getTime() + opts.graceSeconds * 1000).toISOString();
      await db.transaction().execute(async (tx) => {
        const rows = await repo.agentKeysForUpdate(tx, appId, agentId);
        const current = rows.find((r) => r.id === keyId);
        const st = current ? notActive(current) : 'revoked';
        if (!current || st) throw new LatchkeyError('key_not_active', { details: { key_id: keyId, status: st } });
        await prepared.insert(tx);
        const expiresAt = current.expires_at && current.expires_at < graceEnd ? current.expires_at : graceEnd;
        await repo.updateLiveKey(tx, appId, keyId, { status: 'deprecated', expires_at: expiresAt });
      });
      bus.publish('key', keyId);
      await prepared.committed(actor, { rotated_from: keyId });
      await audit.recordBestEffort({
        event: 'key.deprecated',
        appId,
        actor,
        outcome: 'success',
        details: keyAudit(old, { rotated_to: prepared.key.key_id, grace_seconds: opts.graceSeconds }),
      });
      const previous = toMeta((await repo.findKeyById(db, keyId))!, now().toISOString());
      return { key: prepared.key, apiKey: prepared.apiKey, previous };
    },
    async revokeAgentKey(appId, agentId, keyId, opts, actor) {
      await agentKeyRow(appId, agentId, keyId);
      let revoked: ApiKeysTable | undefined;
      await db.transaction().execute(async (tx) => {
        const rows = await repo.agentKeysForUpdate(tx, appId, agentId);
        const row = rows.find((r) => r.id === keyId);
        if (!row) throw new LatchkeyError('key_not_found');
        if (row.revoked_at) return;
        const nowIso = now().toISOString();
        const othersActive = rows.some((r) => r.id !== keyId && isActiveKey(r, nowIso));
        if (!opts.force && isActiveKey(row, nowIso) && !othersActive) {
          throw new LatchkeyError('last_active_key', { details: { key_id: keyId, agent_id: agentId } });
        }
        await repo.revokeKey(tx, appId, keyId, nowIso);
        revoked = row;
      });
      bus.publish('key', keyId);
      if (revoked) {
        await audit.recordBestEffort({
          event: 'key.revoked',
          appId,
          actor,
          outcome: 'success',
          details: keyAudit(revoked, { forced: opts.force }),
        });
      }
      return toMeta((await repo.findKeyById(db, keyId))!, now().toISOString());
    },
    async revokeAllForAgent(appId, agentId, actor) {
      const ids = await repo.revokeAgentKeys(db, appId, agentId, now().toISOString());
      for (const id of ids) {
        bus.publish('key', id);
        const row = await repo.findKeyById(db, id);
        if (row)
          await audit.recordBestEffort({
            event: 'key.revoked',
            appId,
            actor,
            outcome: 'success',
            details: keyAudit(row),
          });
      }
      return ids.length;
    },
  };
}
