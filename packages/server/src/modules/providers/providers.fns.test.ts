import { describe, expect, it } from 'vitest';
import { loadCatalog } from '@latchkey/providers';
import { filterTemplates, isProbeOk, probeHeaders, probeUrl } from './providers.fns.js';

describe('filterTemplates', () => {
  const all = loadCatalog().list();

  it('keeps everything without filters and keeps the order', () => {
    expect(filterTemplates(all, {})).toEqual([...all]);
  });

  it('filters by kind and by category', () => {
    expect(filterTemplates(all, { kind: 'oauth2' }).every((t) => t.kind === 'oauth2')).toBe(true);
    const email = filterTemplates(all, { kind: 'managed_secret', category: 'email' });
    expect(email.length).toBeGreaterThan(0);
    expect(email.every((t) => t.kind === 'managed_secret' && t.category === 'email')).toBe(true);
    expect(filterTemplates(all, { category: 'nope' })).toEqual([]);
  });
});

describe('probeUrl and probeHeaders', () => {
  it('puts the absolute test path on the origin of the base URL', () => {
    expect(probeUrl('https://api.openai.com/v1', { path: '/v1/models' }).href).toBe('https://api.openai.com/v1/models');
    expect(probeUrl('http://127.0.0.2:8080/x/y', { path: '/me?probe=1' }).href).toBe(
      'http://127.0.0.2:8080/me?probe=1',
    );
  });

  it('lowercases header names', () => {
    expect(probeHeaders({ headers: { 'Notion-Version': '2025-09-03' } })).toEqual({ 'notion-version': '2025-09-03' });
    expect(probeHeaders({})).toEqual({});
  });
});

describe('isProbeOk', () => {
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));

  it('needs the expected status', () => {
    expect(isProbeOk({ expect_status: 200 }, 200, null)).toBe(true);
    expect(isProbeOk({ expect_status: 200 }, 401, null)).toBe(false);
    expect(isProbeOk({ expect_status: 200 }, null, null)).toBe(false);
  });

  it('needs the named JSON field to be exactly true when one is named', () => {
    const test = { expect_status: 200, expect_json_field_true: 'ok' };
    expect(isProbeOk(test, 200, json({ ok: true }))).toBe(true);
    expect(isProbeOk(test, 200, json({ ok: false, error: 'invalid_auth' }))).toBe(false);
    expect(isProbeOk(test, 200, json({ ok: 'true' }))).toBe(false);
    expect(isProbeOk(test, 200, json([true]))).toBe(false);
    expect(isProbeOk(test, 200, Buffer.from('{"ok": tr'))).toBe(false);
    expect(isProbeOk(test, 200, null)).toBe(false);
  });
});
