import { z } from 'zod';
import { PageInfo, PageQuery, Timestamp } from './common.js';

/**
 * Provider templates on the wire (DESIGN §8): the catalog and per-app custom templates. The
 * authoritative rules live in `@latchkey/providers` (schema.json + `validateTemplate`); these
 * schemas describe and filter responses. Templates hold no secrets.
 */

/** A template id: lowercase words joined by single hyphens. */
export const TemplateId = z
  .string()
  .max(64)
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'lowercase letters and digits joined by single hyphens');

/** Provider kinds. */
export const ProviderKind = z.enum(['managed_secret', 'oauth2']);

const DocumentedHeader = z.object({
  name: z.string(),
  example: z.string().optional(),
  description: z.string(),
});

const Common = {
  id: z.string(),
  display_name: z.string(),
  description: z.string().optional(),
  category: z.string(),
  docs_url: z.string().optional(),
  allowed_hosts: z.array(z.string()).readonly(),
  base_url: z.string().optional(),
  required_headers: z.array(DocumentedHeader).readonly().optional(),
};

/** A cheap authenticated call that proves a stored credential works. */
export const TemplateTestEndpoint = z.object({
  method: z.string(),
  path: z.string(),
  expect_status: z.number().int(),
  expect_json_field_true: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
});

/** A managed-secret template: how one stored credential is injected. */
export const ManagedSecretTemplate = z.object({
  ...Common,
  kind: z.literal('managed_secret'),
  credential_type: z.string(),
  injection: z
    .object({
      header: z.string().optional(),
      format: z.string().optional(),
      username_label: z.string().optional(),
      password_label: z.string().optional(),
      fields: z
        .array(z.object({ name: z.string(), label: z.string(), description: z.string().optional() }))
        .readonly()
        .optional(),
      headers: z
        .array(z.object({ name: z.string(), format: z.string() }))
        .readonly()
        .optional(),
      query: z
        .array(z.object({ name: z.string(), format: z.string() }))
        .readonly()
        .optional(),
      region: z.string().optional(),
      service: z.string().optional(),
    })
    .optional(),
  test_endpoint: TemplateTestEndpoint.optional(),
  value_hint: z
    .object({ prefixes: z.array(z.string()).readonly().optional(), description: z.string().optional() })
    .optional(),
  last4_visible: z.boolean(),
});

/** An OAuth 2.0 provider entry. */
export const OAuth2Template = z.object({
  ...Common,
  kind: z.literal('oauth2'),
  authorization_endpoint: z.string(),
  token_endpoint: z.string(),
  revocation_endpoint: z.string().optional(),
  userinfo_endpoint: z.string().optional(),
  scope_separator: z.enum([' ', ',']),
  pkce: z.enum(['required', 'supported', 'unsupported']),
  default_scopes: z.array(z.string()).readonly(),
  token_auth_method: z.enum(['client_secret_basic', 'client_secret_post']),
  authorization_params: z.record(z.string(), z.string()).optional(),
  refresh: z
    .object({
      rotates_refresh_token: z.boolean(),
      refresh_token_expires: z.boolean(),
      requires_scope: z.string().optional(),
    })
    .optional(),
});

/** Any provider template. */
export const ProviderTemplate = z.discriminatedUnion('kind', [ManagedSecretTemplate, OAuth2Template]);

/** Query of `GET /v1/providers/catalog`. */
export const ListCatalogQuery = z.object({
  kind: ProviderKind.optional(),
  category: z
    .string()
    .max(32)
    .regex(/^[a-z_]+$/, 'a category name')
    .optional(),
});

/** Response of `GET /v1/providers/catalog`: the built-in templates, sorted by id. */
export const ProviderCatalog = z.object({
  templates: z.array(ProviderTemplate),
  total: z.number().int(),
});

/**
 * Body of `POST /v1/providers/templates`: one template object (either kind), checked by
 * `validateTemplate`. Its id may not reuse a catalog id or another template of the app.
 */
export const CreateTemplateBody = z.record(z.string(), z.unknown());

/** A per-app custom template. */
export const CustomTemplate = z.object({
  id: z.string(),
  template: ProviderTemplate,
  created_at: Timestamp,
});

/** Response of `GET /v1/providers/templates`. */
export const CustomTemplateList = z.object({ templates: z.array(CustomTemplate), ...PageInfo });

/** Query of `GET /v1/providers/templates`. */
export const ListTemplatesQuery = PageQuery;

/** Path params naming a custom template. */
export const TemplateIdParams = z.object({ id: TemplateId });

/** Response of `DELETE /v1/providers/templates/{id}`. */
export const DeleteTemplateResponse = z.object({ id: z.string(), deleted: z.literal(true) });

/**
 * Response of `POST /v1/managed-secrets/{id}/test`: whether the template's test endpoint
 * accepted the credential. Never the upstream body or headers. `status_code` is null when no
 * response arrived; `error_code` then names why (`upstream_unreachable`, `policy_violation`, …).
 */
export const SecretTestResult = z.object({
  ok: z.boolean(),
  status_code: z.number().int().nullable(),
  error_code: z.string().nullable(),
});
