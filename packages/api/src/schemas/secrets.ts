import { z } from 'zod';
import { Label, PageInfo, Timestamp } from './common.js';

/** Credential types a managed secret can hold (DESIGN §2). */
export const SecretType = z.enum(['bearer', 'api_key', 'basic', 'custom', 'aws_sigv4']);

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
 * `aws_sigv4`: optional `region` and `service` (signing name); each one given wins over the host's.
 */
export const Injection = z.object({
  header: HeaderName.optional(),
  format: Format.optional(),
  headers: z.array(InjectionTarget).max(10).optional(),
  query: z
    .array(z.object({ name: z.string().min(1).max(100), format: Format }))
    .max(10)
    .optional(),
  region: z
    .string()
    .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'not an AWS region (e.g. us-east-1)')
    .max(32)
    .optional(),
  service: z
    .string()
    .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'not an AWS signing name (e.g. s3, bedrock)')
    .max(64)
    .optional(),
});

/**
 * An `aws_sigv4` value: an access key pair and, for temporary credentials (STS), the session token.
 * Key ids are AWS's `AKIA…`/`ASIA…` or an S3-compatible store's own; the server checks their shape.
 */
export const AwsSigV4Value = z
  .object({
    access_key_id: z.string().min(1).max(128),
    secret_access_key: z.string().min(1).max(512),
    session_token: z.string().min(1).max(8192).optional(),
  })
  .strict();

/**
 * A secret value as sent on create/rotate: a string (`bearer`, `api_key`), `{username, password}`
 * (`basic`), `{access_key_id, secret_access_key, session_token?}` (`aws_sigv4`) or a map of named
 * fields (`custom`). At most 16 KiB in total.
 */
export const SecretValue = z.union([
  z.string().min(1).max(16_384),
  z.object({ username: z.string().max(1024), password: z.string().max(4096) }).strict(),
  AwsSigV4Value,
  z
    .record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/), z.string().min(1).max(8192))
    .refine((v) => Object.keys(v).length >= 1 && Object.keys(v).length <= 20, {
      message: 'a custom value has 1 to 20 fields',
    }),
]);

/**
 * Gateway base URL of a secret (DESIGN §4): absolute http(s), no credentials, query or fragment; its
 * host must be one of the secret's `allowed_hosts` (checked by the server). `/gw/{grant_id}/{path}`
 * forwards to `{base_url}/{path}`.
 */
export const BaseUrl = z
  .string()
  .trim()
  .min(8)
  .max(2048)
  .regex(/^https?:\/\/[^\s]+$/i, 'not an http(s) URL');

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
    /** Gateway base URL; defaults to the template's `base_url`. */
    base_url: BaseUrl.optional(),
  })
  .strict();

/** Body of `PATCH /v1/managed-secrets/{id}`: metadata only, never the value. */
export const UpdateSecretBody = z
  .object({
    name: Label.optional(),
    description: z.string().max(1000).nullable().optional(),
    allowed_hosts: z.array(HostPattern).min(1).max(50).optional(),
    /** `null` clears it (the template's `base_url` applies again). */
    base_url: BaseUrl.nullable().optional(),
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
  /** The secret's own gateway base URL; null when the template's `base_url` (if any) applies. */
  base_url: z.string().nullable(),
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
