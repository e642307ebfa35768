import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors.js';

/** ISO-8601 timestamp with a zone, as returned by the server (`2026-01-02T03:04:05.000Z`). */
export const Timestamp = z.iso.datetime({ offset: true });

/** Pagination query for list endpoints (DESIGN §11): `limit` 1–500 (default 100), `offset` ≥ 0. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).max(1_000_000_000).default(0),
});

/** Fields every paginated list result carries. */
export const PageInfo = {
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
  has_more: z.boolean(),
};

/** A short human label. */
export const Label = z.string().trim().min(1).max(200);

/** A bounded string map passed as audit context (≤ 20 entries, keys ≤ 64, values ≤ 256 chars). */
export const Context = z
  .record(z.string().min(1).max(64), z.string().max(256))
  .refine((v) => Object.keys(v).length <= 20, { message: 'at most 20 context entries' });

/** The error response body (DESIGN §11). */
export const ErrorResponse = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
    request_id: z.string(),
  }),
});
