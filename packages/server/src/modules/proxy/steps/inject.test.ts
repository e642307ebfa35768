import { describe, expect, test } from 'vitest';
import { sanitizeHeaders } from './inject.js';

describe('sanitizeHeaders', () => {
  test('drops hop-by-hop, Latchkey, signature and caller credential headers and keeps the rest', () => {
    const out = sanitizeHeaders(
      {
        accept: 'application/json',
        'x-custom': ['a', 'b'],
        connection: 'keep-alive',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        host: 'latchkey.local',
        'latchkey-grant-id': 'g',
        'latchkey-target': 'https://api.example.com/',
        signature: 'sig1=:AA==:',
        'signature-input': 'sig1=()',
        'content-digest': 'sha-256=:AA==:',
        authorization: 'Bearer lk_caller_key',
        cookie: 'session=1',
        'proxy-authorization': 'Basic eDp5',
        'x-api-key': 'caller-key',
        'api-key': 'caller-key',
        'x-amz-security-token': 't',
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        'x-amz-date': '20260101T000000Z',
        absent: undefined,
      },
      false,
    );
    expect(out).toEqual({ accept: 'application/json', 'x-custom': ['a', 'b'], 'content-digest': 'sha-256=:AA==:' });
  });

  test("drops the headers Connection names, and Latchkey's own Content-Digest on a signed request", () => {
    const headers = { connection: 'Keep-Alive, X-Hop , x-other', 'x-hop': '1', 'x-other': '2', 'x-kept': '3' };
    expect(sanitizeHeaders(headers, false)).toEqual({ 'x-kept': '3' });
    expect(sanitizeHeaders({ connection: ['close', 'x-hop'], 'x-hop': '1', 'x-kept': '3' }, false)).toEqual({
      'x-kept': '3',
    });
    expect(sanitizeHeaders({ connection: 'close', 'content-digest': 'd', 'x-kept': '3' }, true)).toEqual({
      'x-kept': '3',
    });
  });

  test('never forwards inherited properties', () => {
    const headers = Object.create({ authorization: 'Bearer inherited' }) as Record<string, string>;
    headers['accept'] = '*/*';
    expect(sanitizeHeaders(headers, false)).toEqual({ accept: '*/*' });
  });
});
