import type { z } from 'zod';
import type { SecretTestResult } from '@latchkey/api';
import {
  isManagedSecretTemplate,
  validateTemplate,
  type Catalog,
  type ManagedSecretTemplate,
  type ProviderTemplate,
} from '@latchkey/providers';
import { LatchkeyError } from '../../errors.js';
import type { AuthContext } from '../../http/authenticate.js';
import type { Db, ProviderTemplatesTable } from '../../store/types.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Actor } from '../keys/keys.service.js';
import type { ProbeRequest, ProbeResult } from '../proxy/proxy.service.js';
import type { TemplateLookup } from '../secrets/secrets.service.js';
import { filterTemplates, isProbeOk, probeHeaders, probeUrl } from './providers.fns.js';
import * as repo from './providers.repo.js';

/** A per-app custom template as the API shows it. */
export interface CustomTemplateView {
  id: string;
  template: ProviderTemplate;
  created_at: string;
}

/** Largest custom template accepted, as JSON text. */
const MAX_TEMPLATE_JSON = 64 * 1024;

/** The provider catalog, per-app custom templates, and managed-secret tests (DESIGN §8, §12). */
export interface ProvidersService {
  /** Managed-secret templates as an app sees them (catalog first, then its own); for the secrets service. */
  readonly templates: TemplateLookup;
  /** The built-in catalog, filtered by kind and category. */
  listCatalog(query: { kind?: string | undefined; category?: string | undefined }): {
    templates: ProviderTemplate[];
    total: number;
  };
  /**
   * Validates and stores a custom template.
   * @throws LatchkeyError `invalid_request` (with `details.errors`), `provider_template_exists`, `audit_unavailable`.
   */
  createTemplate(appId: string, input: unknown, actor: Actor): Promise<CustomTemplateView>;
  listTemplates(
    appId: string,
    page: { limit: number; offset: number },
  ): Promise<{ items: CustomTemplateView[]; total: number }>;
  /** @throws LatchkeyError `provider_not_found` */
  getTemplate(appId: string, id: string): Promise<CustomTemplateView>;
  /**
   * Deletes a custom template. Secrets created from it keep working (their injection and hosts are
   * stored on the secret) but can no longer be tested.
   * @throws LatchkeyError `provider_not_found`
   */
  deleteTemplate(appId: string, id: string, actor: Actor): Promise<void>;
  /**
   * Calls the secret's template test endpoint through the pipeline and reports whether it answered
   * as expected; never the upstream body or headers.
   * @throws LatchkeyError `managed_secret_not_found`, `managed_secret_not_testable`, `audit_unavailable`.
   */
  testSecret(auth: AuthContext, secretId: string): Promise<z.infer<typeof SecretTestResult>>;
}

/**
 * Creates the providers service.
 *
 * @param deps `db`, `audit`, the loaded `catalog`, and two functions of other services wired late
 *   (they are built after this one): `secretMeta` (the secrets service's `get`) and `probe` (the
 *   proxy service's `probeSecret`).
 */
export function createProvidersService(deps: {
  db: Db;
  audit: Pick<AuditService, 'record' | 'assertWritable'>;
  catalog: Catalog;
  secretMeta: (appId: string, id: string) => Promise<{ template_id: string | null; base_url?: string | null }>;
  probe: (auth: AuthContext, secretId: string, request: ProbeRequest) => Promise<ProbeResult>;
  now?: () => Date;
}): ProvidersService {
  const { db, audit, catalog } = deps;
  const now = deps.now ?? (() => new Date());

  function toView(row: ProviderTemplatesTable): CustomTemplateView {
    return { id: row.id, template: JSON.parse(row.template) as ProviderTemplate, created_at: row.created_at };
  }

  async function findAny(appId: string, id: string): Promise<ProviderTemplate | undefined> {
    const builtIn = catalog.get(id);
    if (builtIn) return builtIn;
    const row = await repo.findTemplate(db, appId, id);
    return row ? toView(row).template : undefined;
  }

  async function findManagedSecretTemplate(appId: string, id: string): Promise<ManagedSecretTemplate | undefined> {
    const t = await findAny(appId, id);
    return t && isManagedSecretTemplate(t) ? t : undefined;
  }

  async function exists(appId: string, id: string): Promise<boolean> {
    return catalog.has(id) || (await repo.findTemplate(db, appId, id)) !== undefined;
  }

  return {
    templates: { get: findManagedSecretTemplate },

    listCatalog(query) {
      const templates = filterTemplates(catalog.list(), query);
      return { templates, total: templates.length };
    },

    async createTemplate(appId, input, actor) {
      audit.assertWritable();
      if (JSON.stringify(input).length > MAX_TEMPLATE_JSON) {
        throw new LatchkeyError('invalid_request', {
          message: `A template is at most ${MAX_TEMPLATE_JSON / 1024} KiB of JSON.`,
          details: { field: 'template' },
        });
      }
      const result = validateTemplate(input);
      if (!result.ok) {
        throw new LatchkeyError('invalid_request', {
          message: 'The template is not valid.',
          details: { errors: result.errors.slice(0, 50) },
        });
      }
      const { template } = result;
      if (await exists(appId, template.id)) {
        throw new LatchkeyError('provider_template_exists', { details: { id: template.id } });
      }
      const row: ProviderTemplatesTable = {
        app_id: appId,
        id: template.id,
        kind: template.kind,
        template: JSON.stringify(template),
        created_at: now().toISOString(),
      };
      try {
        await repo.insertTemplate(db, row);
      } catch (err) {
        // The primary key closes the race between the check above and the insert.
        if (await exists(appId, template.id)) {
          throw new LatchkeyError('provider_template_exists', { details: { id: template.id } });
        }
        throw err;
      }
      await audit.record({
        event: 'provider.template.created',
        appId,
        actor,
        outcome: 'success',
        providerId: template.id,
        details: { kind: template.kind },
      });
      return toView(row);
    },

    async listTemplates(appId, page) {
      const { rows, total } = await repo.listTemplates(db, appId, page);
      return { items: rows.map(toView), total };
    },

    async getTemplate(appId, id) {
      const row = await repo.findTemplate(db, appId, id);
      if (!row) throw new LatchkeyError('provider_not_found', { details: { id } });
      return toView(row);
    },

    async deleteTemplate(appId, id, actor) {
      audit.assertWritable();
      const row = await repo.findTemplate(db, appId, id);
      if (!row) throw new LatchkeyError('provider_not_found', { details: { id } });
      await repo.deleteTemplate(db, appId, id);
      await audit.record({
        event: 'provider.template.deleted',
        appId,
        actor,
        outcome: 'success',
        providerId: id,
        details: { kind: row.kind },
      });
    },

    async testSecret(auth, secretId) {
      const meta = await deps.secretMeta(auth.appId, secretId);
      const template = meta.template_id ? await findManagedSecretTemplate(auth.appId, meta.template_id) : undefined;
      const test = template?.test_endpoint;
      const baseUrl = meta.base_url ?? template?.base_url;
      if (!test || !baseUrl) {
        throw new LatchkeyError('managed_secret_not_testable', {
          details: { template_id: meta.template_id },
        });
      }
      const seen = await deps.probe(auth, secretId, {
        method: test.method,
        url: probeUrl(baseUrl, test),
        headers: probeHeaders(test),
      });
      return {
        ok: isProbeOk(test, seen.statusCode, seen.body),
        status_code: seen.statusCode,
        error_code: seen.errorCode,
      };
    },
  };
}
