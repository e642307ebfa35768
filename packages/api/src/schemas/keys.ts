import { z } from 'zod';
import { Label, PageInfo, Timestamp } from './common.js';
import { Scope } from './scopes.js';

/** CIDR (IPv4 or IPv6) in a key's allow-list. */
export const Cidr = z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, 'not a CIDR');

/** Body of `POST /v1/keys`: mint an app key. */
export const MintKeyBody = z.object({
  name: Label.optional(),
  scopes: z.array(Scope).min(1).max(50),
  expires_at: Timestamp.optional(),
  signed_only: z.boolean().default(false),
  cidrs: z.array(Cidr).max(50).optional(),
  /** Requests per minute this key may make (shared by every replica); unset = unlimited. */
  rate_limit_rpm: z.number().int().min(1).max(1_000_000).optional(),
});

/** Public metadata of an API key; the key itself is never returned after minting. */
export const KeyMeta = z.object({
  key_id: z.string(),
  key_prefix: z.string(),
  kind: z.enum(['app', 'agent']),
  name: z.string().nullable(),
  scopes: z.array(z.string()),
  cidrs: z.array(z.string()),
  status: z.enum(['active', 'deprecated', 'revoked', 'expired']),
  signed_only: z.boolean(),
  rate_limit_rpm: z.number().int().nullable(),
  created_at: Timestamp,
  expires_at: Timestamp.nullable(),
  revoked_at: Timestamp.nullable(),
});

/** Response of `POST /v1/keys`: the key metadata and the raw key, shown exactly once. */
export const MintKeyResponse = z.object({ key: KeyMeta, api_key: z.string() });

/** Response of `GET /v1/keys`. */
export const KeyList = z.object({ keys: z.array(KeyMeta), ...PageInfo });

/** Path params naming a key. */
export const KeyIdParams = z.object({ key_id: z.string().regex(/^key_[A-Za-z0-9]{8,64}$/, 'not a key id') });
