import { describe, expect, it } from 'vitest';
import { LatchkeyError } from '../../errors.js';
import { canonicalValue, last4Of, normalizeInjection } from './secrets.fns.js';

const KEY = { access_key_id: 'AKIAIOSFODNN7EXAMPLE', secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof LatchkeyError ? e.code : 'not a LatchkeyError';
  }
  return undefined;
}

describe('aws_sigv4 values', () => {
  it('canonical JSON has the fields in a fixed order, with the token only when given', () => {
    expect(
      canonicalValue('aws_sigv4', { secret_access_key: KEY.secret_access_key, access_key_id: KEY.access_key_id }, {}),
    ).toBe(JSON.stringify(KEY));
    expect(canonicalValue('aws_sigv4', { ...KEY, session_token: 'IQoJb3JpZ2luX2Vj+/=' }, {})).toBe(
      JSON.stringify({ ...KEY, session_token: 'IQoJb3JpZ2luX2Vj+/=' }),
    );
    // S3-compatible stores use short ids (MinIO: `minioadmin`).
    expect(canonicalValue('aws_sigv4', { access_key_id: 'minioadmin', secret_access_key: 'minioadmin' }, {})).toContain(
      'minioadmin',
    );
  });

  it.each([
    ['a string', 'AKIAIOSFODNN7EXAMPLE'],
    ['no secret key', { access_key_id: KEY.access_key_id }],
    ['an extra field', { ...KEY, region: 'us-east-1' }],
    ['a key id with "/"', { ...KEY, access_key_id: 'AKIA/IOSFODNN7' }],
    ['a key id with ","', { ...KEY, access_key_id: 'AKIA,IOSFODNN7' }],
    ['a secret key with a space', { ...KEY, secret_access_key: 'a b' }],
    ['a token with a newline', { ...KEY, session_token: 'a\nb' }],
  ])('refuses %s', (_, value) => {
    expect(code(() => canonicalValue('aws_sigv4', value as never, {}))).toBe('invalid_request');
  });

  it('takes only region and service as injection; other types take neither', () => {
    expect(normalizeInjection('aws_sigv4', undefined)).toEqual({});
    expect(normalizeInjection('aws_sigv4', { region: 'eu-west-1', service: 's3' })).toEqual({
      region: 'eu-west-1',
      service: 's3',
    });
    expect(code(() => normalizeInjection('aws_sigv4', { header: 'x-api-key' }))).toBe('invalid_request');
    expect(code(() => normalizeInjection('api_key', { header: 'x-api-key', region: 'eu-west-1' }))).toBe(
      'invalid_request',
    );
    expect(
      code(() => normalizeInjection('custom', { headers: [{ name: 'x-a', format: '{token}' }], service: 's3' })),
    ).toBe('invalid_request');
  });

  it('shows the last 4 of the access key id, never of the secret key', () => {
    expect(last4Of('aws_sigv4', KEY, true)).toBe('MPLE');
    expect(last4Of('aws_sigv4', KEY, false)).toBeNull();
    expect(last4Of('aws_sigv4', { access_key_id: 'minioadmin', secret_access_key: 'x' }, true)).toBeNull();
  });
});
