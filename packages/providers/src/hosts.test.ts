import { describe, expect, it } from 'vitest';
import { createHostMatcher, isHostAllowed, normalizeHost, validateHostPattern } from './hosts.js';

describe('isHostAllowed', () => {
  const stripe = ['*.stripe.com'];

  it('matches an exact host', () => {
    expect(isHostAllowed('api.stripe.com', ['api.stripe.com'])).toBe(true);
    expect(isHostAllowed('files.stripe.com', ['api.stripe.com'])).toBe(false);
  });

  it('matches subdomains of a wildcard at any depth', () => {
    expect(isHostAllowed('api.stripe.com', stripe)).toBe(true);
    expect(isHostAllowed('a.b.c.stripe.com', stripe)).toBe(true);
  });

  it('never matches the bare suffix of a wildcard', () => {
    expect(isHostAllowed('stripe.com', stripe)).toBe(false);
  });

  it('does not match look-alike hosts', () => {
    expect(isHostAllowed('evil-stripe.com', stripe)).toBe(false);
    expect(isHostAllowed('evilstripe.com', stripe)).toBe(false);
    expect(isHostAllowed('api.stripe.com.evil.com', stripe)).toBe(false);
    expect(isHostAllowed('api.stripe.com.evil.com', ['api.stripe.com'])).toBe(false);
    expect(isHostAllowed('stripe.com.', ['*.stripe.com'])).toBe(false);
  });

  it('is case-insensitive on both sides', () => {
    expect(isHostAllowed('API.Stripe.COM', stripe)).toBe(true);
    expect(isHostAllowed('api.stripe.com', ['*.STRIPE.com'])).toBe(true);
    expect(isHostAllowed('API.OPENAI.COM', ['api.openai.com'])).toBe(true);
  });

  it('normalises one trailing dot on both sides', () => {
    expect(isHostAllowed('api.stripe.com.', stripe)).toBe(true);
    expect(isHostAllowed('api.stripe.com.', ['api.stripe.com'])).toBe(true);
    expect(isHostAllowed('api.stripe.com', ['api.stripe.com.'])).toBe(true);
    expect(isHostAllowed('api.stripe.com..', ['api.stripe.com'])).toBe(false);
  });

  it('rejects malformed hosts', () => {
    for (const host of ['', '.stripe.com', 'a..stripe.com', 'api.stripe.com:443', 'api stripe.com', '*.stripe.com']) {
      expect(isHostAllowed(host, stripe), host).toBe(false);
    }
  });

  it('never matches with invalid patterns (fails closed)', () => {
    expect(isHostAllowed('api.stripe.com', ['*'])).toBe(false);
    expect(isHostAllowed('stripe.com', ['*.com'])).toBe(false);
    expect(isHostAllowed('api.stripe.com', ['api.*.com'])).toBe(false);
    expect(isHostAllowed('api.stripe.com', [])).toBe(false);
  });

  it('matches IP literals exactly only', () => {
    expect(isHostAllowed('127.0.0.1', ['127.0.0.1'])).toBe(true);
    expect(isHostAllowed('[::1]', ['[::1]'])).toBe(true);
    expect(isHostAllowed('127.0.0.2', ['127.0.0.1'])).toBe(false);
  });

  it('throws TypeError on programmer misuse', () => {
    expect(() => isHostAllowed('a.com', 'a.com' as unknown as string[])).toThrow(TypeError);
    expect(() => isHostAllowed('a.com', [1 as unknown as string])).toThrow(TypeError);
  });
});

describe('createHostMatcher', () => {
  it('combines exact hosts and wildcards', () => {
    const allowed = createHostMatcher(['api.github.com', '*.twilio.com']);
    expect(allowed('api.github.com')).toBe(true);
    expect(allowed('uploads.github.com')).toBe(false);
    expect(allowed('api.dublin.ie1.twilio.com')).toBe(true);
    expect(allowed('twilio.com')).toBe(false);
  });
});

describe('validateHostPattern', () => {
  it('accepts exact hosts and wildcards with two or more labels', () => {
    for (const p of [
      'api.stripe.com',
      '*.stripe.com',
      '*.eu.example.org',
      'localhost',
      '127.0.0.1',
      '[::1]',
      'API.Stripe.com.',
    ]) {
      expect(validateHostPattern(p), p).toBeUndefined();
    }
  });

  it.each([
    ['', 'must not be empty'],
    ['*', 'a wildcard is only allowed as a leading "*." followed by a host name'],
    ['*.com', 'a wildcard needs at least two labels after "*.", as in "*.example.com"'],
    ['*.', 'a wildcard is only allowed as a leading "*." followed by a host name'],
    ['*..com', '".com" is not a valid host name'],
    ['*.*.stripe.com', 'only one leading "*." wildcard is allowed'],
    ['api.*.com', 'a wildcard is only allowed as a leading "*." followed by a host name'],
    ['*stripe.com', 'a wildcard is only allowed as a leading "*." followed by a host name'],
    ['*.0.0.1', 'a wildcard cannot stand for part of an IP address'],
  ])('rejects %j', (pattern, message) => {
    expect(validateHostPattern(pattern)).toBe(message);
  });

  it.each(['https://api.stripe.com', 'api.stripe.com:443', 'api.stripe.com/v1', 'a..b.com', '-a.com', 'a_b.com'])(
    'rejects %j as not a host',
    (pattern) => {
      expect(validateHostPattern(pattern)).toMatch(/^must be a host name/);
    },
  );
});

describe('normalizeHost', () => {
  it('lower-cases and strips one trailing dot', () => {
    expect(normalizeHost('API.Stripe.COM.')).toBe('api.stripe.com');
    expect(normalizeHost('a.com..')).toBe('a.com.');
  });
});
