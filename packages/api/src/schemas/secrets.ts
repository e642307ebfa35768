import { z } from 'zod';
import { Label, PageInfo, Timestamp } from './common.js';

/** Credential types a managed secret can hold (DESIGN §2). */
export const SecretType = z.enum(['bearer', 'api_key', 'basic', 'custom']);

/** `exact.host` or `*.suffix.tld` (at least two labels after `*.`); lowercase. */
export const HostPattern = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(
    /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(:\d{1,5})?$|^(\*\.)?localhost(:\d{1,5})?$|^\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/,
    'not a host or *.suffix pattern',
  );

const HeaderName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'not a header name');
const Format = z.string().min(1).max(500);

/** One header or query parameter a `custom` secret injects; `format` names value fields as `{field}`. */
export const InjectionTarget = z.object({ name: HeaderName, format: Format });

/**
 * How the credential is injected (non-secret configuration, DESIGN §4.1 step 8).
 * `api_key`: `header` and `format` (containing `{token}` once). `custom`: `headers` and/or `query`.
 */
export const Injection = z.object({
  header: HeaderName.optional(),
  format: Format.optional(),
  headers: z.array(InjectionTarget).max(10).optional(),
  query: z
    .array(z.object({ name: z.string().min(1).max(100), format: Format }))
    .max(10)
    .optional(),
});

/**
 * A secret value as sent on create/rotate: a string (`bearer`, `api_key`), `{username, password}`
 * (`basic`) or a map of named fields (`custom`). At most 16 KiB in total.
 */
export const SecretValue = z.union([
  z.string().min(1).max(16_384),
  z.object({ username: z.string().max(1024), password: z.string().max(4096) }).strict(),
  z
    .record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/), z.string().min(1).max(8192))
    .refine((v) => Object.keys(v).length >= 1 && Object.keys(v).length <= 20, {
      message: 'a custom value has 1 to 20 fields',
    }),
]);

/** Slug: lowercase, digits, `-` and `_`, unique per app. */
export const Slug = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, - and _ (max 63)');

/** Body of `POST /v1/managed-secrets`. */
export const CreateSecretBody = z
  .object({
    slug: Slug,
    name: Label.optional(),
    description: z.string().max(1000).optional(),
    template_id: z
      .string()
      .regex(/^[a-z0-9-]{1,64}$/)
      .optional(),
    type: SecretType.optional(),
    value: SecretValue,
    injection: Injection.optional(),
    allowed_hosts: z.array(HostPattern).min(1).max(50).optional(),
  })
  .strict();

/** Body of `PATCH /v1/managed-secrets/{id}`: metadata only, never the value. */
export const UpdateSecretBody = z
  .object({
    name: Label.optional(),
    description: z.string().max(1000).nullable().optional(),
    allowed_hosts: z.array(HostPattern).min(1).max(50).optional(),
  })
  .strict();

/** Body of `POST /v1/managed-secrets/{id}/rotate`. */
export const RotateSecretBody = z.object({ value: SecretValue }).strict();

/** Public metadata of a managed secret: never the value (DESIGN §6). */
export const SecretMeta = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string().nullable(),
  description: z.string().nullable(),
  type: SecretType,
  template_id: z.string().nullable(),
  injection: Injection,
  allowed_hosts: z.array(z.string()),
  fingerprint: z.string(),
  last4: z.string().nullable(),
  version: z.number().int(),
  created_at: Timestamp,
  updated_at: Timestamp,
  rotated_at: Timestamp.nullable(),
});

/** Response of `GET /v1/managed-secrets`. */
export const SecretList = z.object({ managed_secrets: z.array(SecretMeta), ...PageInfo });

/** Response of `DELETE /v1/managed-secrets/{id}`. */
export const DeleteSecretResponse = z.object({
  id: z.string(),
  deleted: z.literal(true),
  revoked_grants: z.number().int(),
});

/** Path params naming a managed secret. */
export const SecretIdParams = z.object({ id: z.string().regex(/^ms_[A-Za-z0-9]{8,64}$/, 'not a managed secret id') });
