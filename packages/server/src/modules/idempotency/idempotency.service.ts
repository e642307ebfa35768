import { LatchkeyError } from '../../errors.js';
import type { Db, Executor } from '../../store/types.js';
import { IDEMPOTENCY_TTL_MS } from './idempotency.fns.js';
import * as repo from './idempotency.repo.js';

/** A create request's idempotency key and request fingerprint (see `requestFingerprint`). */
export interface IdempotencyRequest {
  readonly key: string;
  readonly fingerprint: string;
}

/** An answer stored for replay. */
export interface StoredAnswer {
  readonly statusCode: number;
  readonly body: unknown;
}

/**
 * `Idempotency-Key` on create endpoints (DESIGN §11), over the `idempotency_keys` table. Keys are
 * per app and kept 24 hours. The caller stores its answer in the same transaction as the object it
 * creates, so a concurrent duplicate either sees the answer or fails on the primary key and then
 * sees it.
 */
export interface IdempotencyService {
  /**
   * The stored answer when the same request was already answered; undefined when the key is new.
   * @throws LatchkeyError `idempotency_key_reused` when the key was used with a different request.
   */
  find(appId: string, req: IdempotencyRequest): Promise<StoredAnswer | undefined>;
  /** Stores an answer with `ex` (the caller's transaction). Never store a secret in `body`. */
  save(ex: Executor, appId: string, req: IdempotencyRequest, answer: StoredAnswer): Promise<void>;
}

/**
 * Creates the idempotency service.
 *
 * @param deps `db`, optional clock `now`.
 */
export function createIdempotencyService(deps: { db: Db; now?: () => Date }): IdempotencyService {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  return {
    async find(appId, req) {
      const row = await repo.findIdempotencyKey(db, appId, req.key);
      if (!row) return undefined;
      if (new Date(row.created_at).getTime() + IDEMPOTENCY_TTL_MS <= now().getTime()) {
        await repo.deleteIdempotencyKey(db, appId, req.key, row.created_at);
        return undefined;
      }
      if (row.request_hash !== req.fingerprint) throw new LatchkeyError('idempotency_key_reused');
      return { statusCode: row.status_code, body: JSON.parse(row.response) as unknown };
    },
    async save(ex, appId, req, answer) {
      await repo.insertIdempotencyKey(ex, {
        app_id: appId,
        key: req.key,
        request_hash: req.fingerprint,
        status_code: answer.statusCode,
        response: JSON.stringify(answer.body),
        created_at: now().toISOString(),
      });
    },
  };
}
