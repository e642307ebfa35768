import { z } from 'zod';
import { Context } from './common.js';

/** HTTP methods the proxy forwards. */
export const ProxyMethod = z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Body of `POST /v1/proxy` (JSON envelope, DESIGN §4). `url` may contain `{placeholders}` filled from
 * `path_params` (each value percent-encoded); `query_params` are appended. Give `json` or `body_b64`,
 * not both.
 */
export const ProxyRequestBody = z
  .object({
    method: ProxyMethod,
    url: z.string().min(1).max(8192),
    grant_id: z.string().uuid('not a grant id'),
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
  .strict();

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
  reason: 'latchkey-reason',
  context: 'latchkey-context',
  runId: 'latchkey-run-id',
  threadId: 'latchkey-thread-id',
  tool: 'latchkey-tool',
  role: 'latchkey-role',
} as const;
