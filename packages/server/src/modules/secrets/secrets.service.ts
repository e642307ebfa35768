import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { CreateSecretBody, Injection, RotateSecretBody, SecretMeta, UpdateSecretBody } from '@latchkey/api';
import type { ManagedSecretTemplate } from '@latchkey/providers';
import { LatchkeyError } from '../../errors.js';
import { thenMaybe, type MaybePromise } from '../../maybe-promise.js';
import type { Cache, InvalidationBus } from '../../coordination/index.js';
import type { PointLookup } from '../../store/point-lookup.js';
import type { Db, ManagedSecretsTable } from '../../store/types.js';
import type { AuditService } from '../audit/audit.service.js';
import type { KeyringService } from '../keyring/keyring.service.js';
import type { Actor } from '../keys/keys.service.js';
import {
  canonicalValue,
  last4Of,
  normalizeAllowedHosts,
  normalizeBaseUrl,
  normalizeInjection,
  type SecretType,
} from './secrets.fns.js';
import * as repo from './secrets.repo.js';

type Meta = z.infer<typeof SecretMeta>;

/**
 * What the proxy needs to inject a credential: non-secret settings, the value sealed under its DEK,
 * and the unwrapped DEK. The plaintext exists only inside the inject step (DESIGN §6).
 */
export interface SealedCredential {
  readonly secretId: string;
  readonly appId: string;
  readonly type: SecretType;
  readonly templateId: string | null;
  readonly injection: Readonly<z.infer<typeof Injection>>;
  readonly allowedHosts: readonly string[];
  /** Gateway base URL: the secret's own `base_url`, else its template's; null if neither. */
  readonly baseUrl: string | null;
  readonly version: number;
  /** Opens the value: one AES-256-GCM open under the cached DEK per call (plaintext JSON bytes). */
  readonly open: () => Buffer;
}

/** Managed secrets: write-only credentials (DESIGN §2, §6). */
export interface SecretsService {
  create(appId: string, input: z.infer<typeof CreateSecretBody>, actor: Actor): Promise<Meta>;
  list(appId: string, page: { limit: number; offset: number }): Promise<{ items: Meta[]; total: number }>;
  /** @throws LatchkeyError `managed_secret_not_found` */
  get(appId: string, id: string): Promise<Meta>;
  update(appId: string, id: string, input: z.infer<typeof UpdateSecretBody>, actor: Actor): Promise<Meta>;
  rotate(appId: string, id: string, input: z.infer<typeof RotateSecretBody>, actor: Actor): Promise<Meta>;
  /** Deletes the value (crypto-shreds its DEK) and revokes every grant on it. */
  delete(appId: string, id: string, actor: Actor): Promise<{ revokedGrants: number }>;
  /**
   * The sealed credential for injection (cached; invalidated on rotate, update and delete). A cache
   * hit is returned as is, a miss as a promise.
   */
  getCredential(appId: string, id: string): MaybePromise<SealedCredential | undefined>;
  /** Opens a sealed credential: returns its canonical JSON value. Call only from the inject step. */
  openCredential(cred: SealedCredential): string;
  /** An invalidation mark of the credential cache: take it before reading a secret row elsewhere. */
  credentialMark(): number;
  /**
   * Caches the credential of a live secret row read outside this service (a grant read that joined
   * it), unless it is cached already or was invalidated since `mark`. Best effort: a row that fails
   * to open is left for {@link SecretsService.getCredential} to load and report.
   */
  primeCredential(row: ManagedSecretsTable, mark: number): Promise<void>;
}

/** Managed-secret templates as an app sees them: the provider catalog plus the app's custom templates. */
export interface TemplateLookup {
  /** The managed-secret template `id` for `appId`, or `undefined` (unknown id or an OAuth entry). */
  get(appId: string, id: string): Promise<ManagedSecretTemplate | undefined>;
}

/**
 * Creates the managed-secrets service.
 *
 * @param deps `db`, `keyring`, `audit`, `templates`, and `revokeGrantsForSecret` (the grants service's, wired late).
 */
export function createSecretsService(deps: {
  db: Db;
  keyring: Pick<KeyringService, 'sealEnvelope' | 'openDek' | 'prepareOpenWithDek' | 'fingerprint'>;
  audit: Pick<AuditService, 'record' | 'recordBestEffort' | 'assertWritable'>;
  templates: TemplateLookup;
  revokeGrantsForSecret: (appId: string, secretId: string, reason: string, actor: Actor) => Promise<number>;
  /** Per-replica cache of sealed credentials by secret id, invalidated cluster-wide through `bus`. */
  cache: Cache<{ cred: SealedCredential | null }>;
  /** Prepared read of a live secret by id, whatever its app (the proxy's cache-miss path). */
  findLiveById: PointLookup<'managed_secrets'>;
  bus: Pick<InvalidationBus, 'publish'>;
  now?: () => Date;
}): SecretsService {
  const { db, keyring, audit, templates } = deps;
  const now = deps.now ?? (() => new Date());
  const { cache, bus } = deps;
  const target = (appId: string, id: string) => ({ appId, table: 'managed_secrets', recordId: id, field: 'value' });

  function toMeta(r: ManagedSecretsTable): Meta {
    return {
      id: r.id,
      slug: r.slug,
      name: r.name,
      description: r.description,
      type: r.type as SecretType,
      template_id: r.template_id,
      injection: JSON.parse(r.injection) as Meta['injection'],
      allowed_hosts: JSON.parse(r.allowed_hosts) as string[],
      base_url: r.base_url ?? null,
      fingerprint: r.fingerprint,
      last4: r.last4,
      version: r.version,
      created_at: r.created_at,
      updated_at: r.updated_at,
      rotated_at: r.rotated_at,
    };
  }

  async function mustFind(appId: string, id: string): Promise<ManagedSecretsTable> {
    const row = await repo.findSecret(db, appId, id);
    if (!row) throw new LatchkeyError('managed_secret_not_found');
    return row;
  }

  return {
    async create(appId, input, actor) {
      audit.assertWritable();
      const template = input.template_id ? await templates.get(appId, input.template_id) : undefined;
      if (input.template_id && !template)
        throw new LatchkeyError('provider_not_found', { details: { template_id: input.template_id } });
      const type = (template?.credential_type ?? input.type) as SecretType | undefined;
      if (!type)
        throw new LatchkeyError('invalid_request', {
          message: 'Give a template_id or a type.',
          details: { field: 'type' },
        });
      if (template && input.type && input.type !== template.credential_type) {
        throw new LatchkeyError('invalid_request', {
          message: `Template ${template.id} stores ${template.credential_type} secrets.`,
          details: { field: 'type' },
        });
      }
      // Template injection wins for fixed types; custom templates without fixed params take the input's.
      let injectionInput = input.injection;
      if (template && type === 'api_key') injectionInput = template.injection as z.infer<typeof Injection>;
      if (template && type === 'custom') {
        const ti = template.injection as { headers?: []; query?: [] } | undefined;
        if ((ti?.headers?.length ?? 0) + (ti?.query?.length ?? 0) > 0)
          injectionInput = { headers: ti?.headers, query: ti?.query };
      }
      const injection = normalizeInjection(type, injectionInput);
      const hostsInput = input.allowed_hosts ?? template?.allowed_hosts ?? [];
      if (hostsInput.length === 0) {
        throw new LatchkeyError('invalid_request', {
          message: 'Give allowed_hosts: the hosts this credential may be sent to.',
          details: { field: 'allowed_hosts' },
        });
      }
      const allowedHosts = normalizeAllowedHosts(hostsInput);
      const baseUrl = input.base_url === undefined ? null : normalizeBaseUrl(input.base_url, allowedHosts);
      const canonical = canonicalValue(type, input.value, injection);
      if (await repo.slugExists(db, appId, input.slug))
        throw new LatchkeyError('managed_secret_slug_exists', { details: { slug: input.slug } });

      const id = `ms_${randomBytes(12).toString('hex')}`;
      const plaintext = Buffer.from(canonical, 'utf8');
      const { sealed, dekWrapped } = await keyring.sealEnvelope(target(appId, id), plaintext);
      const fp = await keyring.fingerprint(appId, plaintext);
      plaintext.fill(0);
      const ts = now().toISOString();
      const row: ManagedSecretsTable = {
        id,
        app_id: appId,
        slug: input.slug,
        name: input.name ?? null,
        description: input.description ?? null,
        type,
        template_id: template?.id ?? null,
        injection: JSON.stringify(injection),
        allowed_hosts: JSON.stringify(allowedHosts),
        base_url: baseUrl,
        value_sealed: sealed,
        dek_wrapped: dekWrapped,
        fingerprint: fp,
        last4: last4Of(type, input.value, template?.last4_visible ?? true),
        version: 1,
        created_at: ts,
        updated_at: ts,
        rotated_at: null,
        deleted_at: null,
      };
      try {
        await repo.insertSecret(db, row);
      } catch (err) {
        // The partial unique index closes the race between the check above and the insert.
        if (await repo.slugExists(db, appId, input.slug))
          throw new LatchkeyError('managed_secret_slug_exists', { details: { slug: input.slug } });
        throw err;
      }
      await audit.record({
        event: 'secret.stored',
        appId,
        actor,
        outcome: 'success',
        managedSecretId: id,
        providerId: row.template_id,
        details: { type, version: 1 },
      });
      return toMeta(row);
    },
    async list(appId, page) {
      const { rows, total } = await repo.listSecrets(db, appId, page);
      return { items: rows.map(toMeta), total };
    },
    async get(appId, id) {
      return toMeta(await mustFind(appId, id));
    },
    async update(appId, id, input, actor) {
      audit.assertWritable();
      const row = await mustFind(appId, id);
      const set: Partial<ManagedSecretsTable> = { updated_at: now().toISOString() };
      if (input.name !== undefined) set.name = input.name;
      if (input.description !== undefined) set.description = input.description;
      if (input.allowed_hosts !== undefined)
        set.allowed_hosts = JSON.stringify(normalizeAllowedHosts(input.allowed_hosts));
      // The base URL must stay inside the binding, whichever of the two changes.
      const baseUrl = input.base_url === undefined ? row.base_url : input.base_url;
      if (baseUrl !== null && (input.base_url !== undefined || input.allowed_hosts !== undefined)) {
        set.base_url = normalizeBaseUrl(baseUrl, JSON.parse(set.allowed_hosts ?? row.allowed_hosts) as string[]);
      } else if (input.base_url === null) set.base_url = null;
      await repo.updateSecret(db, appId, id, set);
      bus.publish('secret', id);
      await audit.record({
        event: 'secret.updated',
        appId,
        actor,
        outcome: 'success',
        managedSecretId: id,
        providerId: row.template_id,
        details: { fields: Object.keys(input).sort().join(',') },
      });
      return toMeta(await mustFind(appId, id));
    },
    async rotate(appId, id, input, actor) {
      audit.assertWritable();
      const row = await mustFind(appId, id);
      const type = row.type as SecretType;
      const injection = JSON.parse(row.injection) as z.infer<typeof Injection>;
      const canonical = canonicalValue(type, input.value, injection);
      const plaintext = Buffer.from(canonical, 'utf8');
      const { sealed, dekWrapped } = await keyring.sealEnvelope(target(appId, id), plaintext);
      const fp = await keyring.fingerprint(appId, plaintext);
      plaintext.fill(0);
      const ts = now().toISOString();
      const template = row.template_id ? await templates.get(appId, row.template_id) : undefined;
      await repo.updateSecret(db, appId, id, {
        value_sealed: sealed,
        dek_wrapped: dekWrapped,
        fingerprint: fp,
        last4: last4Of(type, input.value, template?.last4_visible ?? true),
        version: row.version + 1,
        rotated_at: ts,
        updated_at: ts,
      });
      bus.publish('secret', id);
      await audit.record({
        event: 'secret.rotated',
        appId,
        actor,
        outcome: 'success',
        managedSecretId: id,
        providerId: row.template_id,
        details: { version: row.version + 1 },
      });
      return toMeta(await mustFind(appId, id));
    },
    async delete(appId, id, actor) {
      const row = await mustFind(appId, id);
      // Grants first: a crash between the two steps leaves a secret with no usable grant, never the reverse.
      const revokedGrants = await deps.revokeGrantsForSecret(appId, id, 'managed secret deleted', actor);
      const ts = now().toISOString();
      await repo.updateSecret(db, appId, id, { deleted_at: ts, updated_at: ts, value_sealed: null, dek_wrapped: null });
      bus.publish('secret', id);
      await audit.recordBestEffort({
        event: 'secret.deleted',
        appId,
        actor,
        outcome: 'success',
        managedSecretId: id,
        providerId: row.template_id,
        details: { revoked_grants: revokedGrants },
      });
      return { revokedGrants };
    },
    getCredential(appId, id) {
      // Secret ids are global; the app check keeps tenants apart even on a cache hit.
      // Loaded and cached by id whoever asks: a miss cached for one app must not hide the owner's secret.
      return thenMaybe(
        cache.getOrLoad(id, () => loadCredential(id)),
        ({ cred }) => (cred && cred.appId === appId ? cred : undefined),
      );
    },
    openCredential(cred) {
      return cred.open().toString('utf8');
    },
    credentialMark() {
      return cache.mark();
    },
    async primeCredential(row, mark) {
      if (cache.get(row.id) !== undefined) return;
      try {
        await cache.getOrLoad(row.id, () => buildCredential(row), mark);
      } catch {
        // Left uncached: getCredential loads it again and reports the failure to its caller.
      }
    },
  };

  async function loadCredential(id: string): Promise<{ cred: SealedCredential | null }> {
    const row = await deps.findLiveById(id);
    return row ? buildCredential(row) : { cred: null };
  }

  /** The sealed credential of a secret row (its DEK unwrapped once, the open prepared). */
  async function buildCredential(row: ManagedSecretsTable): Promise<{ cred: SealedCredential | null }> {
    if (row.deleted_at !== null || !row.value_sealed || !row.dek_wrapped) return { cred: null };
    const { id } = row;
    const appId = row.app_id;
    const dek = await keyring.openDek(target(appId, id), row.dek_wrapped);
    let open: () => Buffer;
    try {
      open = keyring.prepareOpenWithDek(target(appId, id), dek, row.value_sealed);
    } finally {
      dek.fill(0); // the prepared open keeps its own copy
    }
    const cred: SealedCredential = Object.freeze({
      secretId: id,
      appId,
      type: row.type as SecretType,
      templateId: row.template_id,
      injection: Object.freeze(JSON.parse(row.injection) as z.infer<typeof Injection>),
      allowedHosts: Object.freeze(JSON.parse(row.allowed_hosts) as string[]),
      baseUrl:
        row.base_url ?? (row.template_id ? (await templates.get(appId, row.template_id))?.base_url : undefined) ?? null,
      version: row.version,
      open,
    });
    return { cred };
  }
}
