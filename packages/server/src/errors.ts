import { ERROR_CODES, type ErrorCode } from '@latchkey/api';

/**
 * The one error type services throw (CONVENTIONS rule 2). The HTTP status and default message come
 * from the registry in `@latchkey/api`; `details` must never carry a secret.
 */
export class LatchkeyError extends Error {
  override readonly name = 'LatchkeyError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  /** Extra response headers (e.g. `retry-after`). */
  readonly headers: Record<string, string> | undefined;

  /**
   * @param code a registered error code.
   * @param opts optional `message` (product words), `details`, `cause`, response `headers`.
   */
  constructor(
    code: ErrorCode,
    opts: {
      message?: string;
      details?: Record<string, unknown>;
      cause?: unknown;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(opts.message ?? ERROR_CODES[code].message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = opts.details;
    this.headers = opts.headers;
  }
}

/** Whether `err` is a LatchkeyError. */
export function isLatchkeyError(err: unknown): err is LatchkeyError {
  return err instanceof LatchkeyError;
}
