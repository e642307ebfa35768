import { ERROR_CODES } from '@latchkey/api/errors';
import { describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  BackendError,
  GrantExpiredError,
  GrantNotFoundError,
  InsufficientScopeError,
  LatchkeyError,
  NotFoundError,
  PolicyViolationError,
  RateLimitedError,
  ReAuthRequiredError,
  SERVER_ERROR_CLASSES,
  TimeoutError,
  NetworkError,
  errorFromResponse,
  parseRetryAfter,
} from '../src/errors.js';
import * as sdk from '../src/index.js';

const errorBody = (code: string, details?: Record<string, unknown>) => ({
  error: { code, message: 'msg', details, request_id: 'req_1' },
});

describe('SERVER_ERROR_CLASSES', () => {
  // Fails when a code is added to the registry without deciding its SDK class.
  it.each(Object.keys(ERROR_CODES))('maps registry code %s to an exported BackendError class', (code) => {
    const Class = SERVER_ERROR_CLASSES[code];
    expect(Class, `no SDK class for server error code "${code}"`).toBeDefined();
    const err = errorFromResponse(ERROR_CODES[code as keyof typeof ERROR_CODES].status, errorBody(code), new Headers());
    expect(err).toBeInstanceOf(Class!);
    expect(err).toBeInstanceOf(BackendError);
    expect(err.code).toBe(code);
    expect(err.status).toBe(ERROR_CODES[code as keyof typeof ERROR_CODES].status);
    expect(err.requestId).toBe('req_1');
    // Every mapped class is reachable from the package entry.
    expect(Object.values(sdk)).toContain(Class);
  });

  it('gives every class a distinct, matching name', () => {
    for (const Class of new Set(Object.values(SERVER_ERROR_CLASSES))) {
      expect(new Class!('m', { code: 'x' }).name).toBe(Class!.name);
    }
  });

  it('maps an unknown code to a plain BackendError keeping the code', () => {
    const err = errorFromResponse(418, errorBody('teapot_exploded'), new Headers());
    expect(err.constructor).toBe(BackendError);
    expect(err.code).toBe('teapot_exploded');
    expect(err.status).toBe(418);
  });

  it('does not take inherited property names as codes', () => {
    expect(errorFromResponse(400, errorBody('constructor'), new Headers()).constructor).toBe(BackendError);
    expect(errorFromResponse(400, errorBody('__proto__'), new Headers()).constructor).toBe(BackendError);
  });

  it('answers a body that is not a Latchkey error with unexpected_response', () => {
    const err = errorFromResponse(502, undefined, new Headers());
    expect(err.code).toBe('unexpected_response');
    expect(err.status).toBe(502);
  });
});

describe('error hierarchy (DESIGN §10)', () => {
  it('places re-auth, not-found and auth errors under their parents', () => {
    const expired = errorFromResponse(403, errorBody('grant_expired'), new Headers());
    expect(expired).toBeInstanceOf(GrantExpiredError);
    expect(expired).toBeInstanceOf(ReAuthRequiredError);
    expect(expired).toBeInstanceOf(LatchkeyError);
    expect(expired).toBeInstanceOf(Error);
    expect(errorFromResponse(404, errorBody('grant_not_found'), new Headers())).toBeInstanceOf(NotFoundError);
    expect(errorFromResponse(404, errorBody('grant_not_found'), new Headers())).toBeInstanceOf(GrantNotFoundError);
    expect(errorFromResponse(401, errorBody('key_revoked'), new Headers())).toBeInstanceOf(AuthenticationError);
    expect(new TimeoutError(5)).toBeInstanceOf(NetworkError);
    expect(new TimeoutError(5).code).toBe('timeout');
  });

  it('exposes policyError and requiredScope from details', () => {
    const p = errorFromResponse(
      403,
      errorBody('policy_violation', { policy_error: 'body_unparseable' }),
      new Headers(),
    );
    expect(p).toBeInstanceOf(PolicyViolationError);
    expect((p as PolicyViolationError).policyError).toBe('body_unparseable');
    expect(p.details).toEqual({ policy_error: 'body_unparseable' });
    expect(Object.isFrozen(p.details)).toBe(true);
    const s = errorFromResponse(
      403,
      errorBody('insufficient_scope', { required_scope: 'grants:write' }),
      new Headers(),
    );
    expect((s as InsufficientScopeError).requiredScope).toBe('grants:write');
  });

  it('reads Retry-After into retryAfterMs', () => {
    const err = errorFromResponse(429, errorBody('rate_limited'), new Headers({ 'retry-after': '7' }));
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(7000);
  });
});

describe('parseRetryAfter (RFC 9110 §10.2.3)', () => {
  it('parses delay-seconds and HTTP-dates', () => {
    expect(parseRetryAfter('0')).toBe(0);
    expect(parseRetryAfter(' 120 ')).toBe(120_000);
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
  });

  it('returns undefined when absent or unparseable', () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('-5')).toBeUndefined();
  });
});
