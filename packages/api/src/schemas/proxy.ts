import { z } from 'zod';
import { Context } from './common.js';
import { TemplateId } from './providers.js';

/** HTTP methods the proxy forwards. */
export const ProxyMethod = z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Body of `POST /v1/proxy` (JSON envelope, DESIGN §4). `url` may contain `{placeholders}` filled from
 * `path_params` (each value percent-encoded); `query_params` are appended. Give `json` or `body_b64`,
 * not both. Name the grant with `grant_id`, or with `provider` + `user_token` (the user's ID token;
 * `account` picks one when several of the user's grants match), never both.
 */
export const ProxyRequestBody = z
  .object({
    method: ProxyMethod,
    url: z.string().min(1).max(8192),
    grant_id: z.string().uuid('not a grant id').optional(),
    /** A provider (template) id: resolve the grant from the user's grants for it. */
    provider: TemplateId.optional(),
    user_token: z.string().min(1).max(8192).optional(),
    /** An account identifier from an `ambiguous_grant` answer (a grant's label, else its secret's slug). */
    account: z.string().min(1).max(200).optional(),
    headers: z.record(z.string().max(100), z.string().max(8192)).optional(),
    query_params: z
      .record(z.string().max(256), z.union([z.string().max(4096), z.array(z.string().max(4096)).max(100)]))
      .optional(),
    path_params: z.record(z.string().max(64), z.string().max(1024)).optional(),
    json: z.unknown().optional(),
    body_b64: z.string().max(14_000_000).optional(),
    reason: z.string().max(500).optional(),
    context: Context.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if ((b.grant_id === undefined) === (b.provider === undefined))
      ctx.addIssue({ code: 'custom', path: ['grant_id'], message: 'give grant_id, or provider with user_token' });
    if (b.provider !== undefined && b.user_token === undefined)
      ctx.addIssue({ code: 'custom', path: ['user_token'], message: 'provider needs user_token' });
    if (b.provider === undefined && (b.user_token !== undefined || b.account !== undefined))
      ctx.addIssue({ code: 'custom', path: ['provider'], message: 'user_token and account go with provider' });
  });

/** Response of `POST /v1/proxy`: the upstream's answer, body base64-encoded and capped. */
export const ProxyResult = z.object({
  status_code: z.number().int(),
  headers: z.record(z.string(), z.string()),
  body_b64: z.string(),
  body_truncated: z.boolean(),
});

/** Request headers `/v1/forward` reads (every `latchkey-*` header is removed before forwarding). */
export const FORWARD_HEADERS = {
  target: 'latchkey-target',
  grantId: 'latchkey-grant-id',
  provider: 'latchkey-provider',
  userToken: 'latchkey-user-token',
  account: 'latchkey-account',
  reason: 'latchkey-reason',
  context: 'latchkey-context',
  runId: 'latchkey-run-id',
  threadId: 'latchkey-thread-id',
  tool: 'latchkey-tool',
  role: 'latchkey-role',
} as const;
