import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CatalogError, loadCatalog } from './load.js';
import { isHostAllowed } from './hosts.js';
import { isManagedSecretTemplate } from './kinds.js';
import { validateTemplate } from './validate.js';

const CATALOG_DIR = new URL('../catalog/', import.meta.url);

describe('the shipped catalog', () => {
  const catalog = loadCatalog();

  it('has at least the nine managed-secret templates', () => {
    expect(catalog.size).toBeGreaterThanOrEqual(9);
    expect(catalog.list().map((t) => t.id)).toEqual(
      expect.arrayContaining([
        'anthropic',
        'custom',
        'datadog',
        'github',
        'openai',
        'sendgrid',
        'slack',
        'stripe',
        'twilio',
      ]),
    );
  });

  it.each(readdirSync(CATALOG_DIR).filter((f) => f.endsWith('.yaml')))('%s validates on its own', (file) => {
    const result = validateTemplate(parse(readFileSync(new URL(file, CATALOG_DIR), 'utf8')));
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  it('lists templates sorted by id and freezes everything', () => {
    const ids = catalog.list().map((t) => t.id);
    expect(ids).toEqual([...ids].sort());
    expect(Object.isFrozen(catalog)).toBe(true);
    expect(Object.isFrozen(catalog.list())).toBe(true);
    const stripe = catalog.get('stripe');
    expect(Object.isFrozen(stripe)).toBe(true);
    expect(Object.isFrozen(stripe?.allowed_hosts)).toBe(true);
    expect(catalog.get('nope')).toBeUndefined();
    expect(catalog.has('openai')).toBe(true);
  });

  it('describes the first nine providers as documented', () => {
    const first = ['anthropic', 'custom', 'datadog', 'github', 'openai', 'sendgrid', 'slack', 'stripe', 'twilio'];
    const injections = Object.fromEntries(
      catalog
        .list()
        .filter(isManagedSecretTemplate)
        .filter((t) => first.includes(t.id))
        .map((t) => [t.id, [t.credential_type, t.injection ?? null]]),
    );
    expect(injections).toEqual({
      anthropic: ['api_key', { header: 'x-api-key', format: '{token}' }],
      custom: ['custom', null],
      datadog: ['api_key', { header: 'DD-API-KEY', format: '{token}' }],
      github: ['bearer', null],
      openai: ['bearer', null],
      sendgrid: ['bearer', null],
      slack: ['bearer', null],
      stripe: ['bearer', null],
      twilio: [
        'basic',
        { username_label: 'Account SID or API key SID', password_label: 'Auth token or API key secret' },
      ],
    });
  });

  it('binds credentials to the provider hosts only', () => {
    const hosts = (id: string): readonly string[] => catalog.get(id)?.allowed_hosts ?? [];
    expect(isHostAllowed('api.stripe.com', hosts('stripe'))).toBe(true);
    expect(isHostAllowed('evil-stripe.com', hosts('stripe'))).toBe(false);
    expect(isHostAllowed('api.datadoghq.eu', hosts('datadog'))).toBe(true);
    expect(isHostAllowed('api.twilio.com', hosts('twilio'))).toBe(true);
    expect(isHostAllowed('twilio.com.evil.com', hosts('twilio'))).toBe(false);
    expect(hosts('custom')).toEqual([]);
  });

  it('gives every provider with fixed hosts a docs_url, and a base_url unless its hosts are per-tenant wildcards', () => {
    for (const t of catalog.list().filter((x) => x.allowed_hosts.length > 0)) {
      expect(t.docs_url, t.id).toMatch(/^https:\/\//);
      if (t.allowed_hosts.some((h) => !h.startsWith('*.'))) expect(t.base_url, t.id).toMatch(/^https:\/\//);
    }
  });
});

describe('loadCatalog on a folder', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function folder(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-catalog-'));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  const valid = (id: string): string => `id: ${id}
kind: managed_secret
display_name: ${id}
category: devtools
docs_url: https://docs.example.com/auth
credential_type: bearer
allowed_hosts: [api.example.com]
base_url: https://api.example.com
last4_visible: true
`;

  function problemsOf(dir: string): readonly unknown[] {
    try {
      loadCatalog(dir);
    } catch (error) {
      expect(error).toBeInstanceOf(CatalogError);
      return (error as CatalogError).problems;
    }
    throw new Error('expected a CatalogError');
  }

  it('loads valid files and skips files that are not YAML', () => {
    const catalog = loadCatalog(
      folder({ 'a.yaml': valid('a'), 'b.yaml': valid('b'), 'README.md': '# notes', '.hidden.yaml': 'x: [' }),
    );
    expect(catalog.list().map((t) => t.id)).toEqual(['a', 'b']);
  });

  it('accepts a file URL', () => {
    const dir = folder({ 'a.yaml': valid('a') });
    expect(loadCatalog(new URL(`file://${dir}/`)).size).toBe(1);
  });

  it('lists every problem of every file with file, pointer and message', () => {
    const dir = folder({
      'a.yaml': valid('a'),
      'b.yaml': valid('c'),
      'broken.yaml': valid('broken')
        .replace('api.example.com]', '"*.com"]')
        .replace('last4_visible: true', 'last4_visible: maybe'),
      'dup.yaml': 'id: dup\nid: dup\n',
      'old.yml': valid('old'),
      'empty.yaml': '',
    });
    expect(problemsOf(dir)).toEqual([
      { file: 'b.yaml', pointer: '/id', message: '"c" must equal the file name "b"' },
      { file: 'broken.yaml', pointer: '/last4_visible', message: 'must be boolean' },
      {
        file: 'broken.yaml',
        pointer: '/allowed_hosts/0',
        message: 'a wildcard needs at least two labels after "*.", as in "*.example.com"',
      },
      { file: 'broken.yaml', pointer: '/base_url', message: 'host "api.example.com" is not in allowed_hosts' },
      { file: 'dup.yaml', pointer: '', message: 'YAML: Map keys must be unique at line 2, column 1:' },
      { file: 'empty.yaml', pointer: '', message: 'must be object' },
      { file: 'old.yml', pointer: '', message: 'catalog files use the .yaml extension' },
    ]);
  });

  it('reports duplicate ids', () => {
    // Only reachable when a file name and its id disagree, so both problems show.
    const dir = folder({ 'a.yaml': valid('a'), 'z.yaml': valid('a') });
    expect(problemsOf(dir)).toEqual([
      { file: 'z.yaml', pointer: '/id', message: '"a" must equal the file name "z"' },
      { file: 'z.yaml', pointer: '/id', message: 'duplicate id "a", also in a.yaml' },
    ]);
  });

  it('treats YAML 1.1 booleans as strings', () => {
    const dir = folder({ 'a.yaml': valid('a').replace('last4_visible: true', 'last4_visible: yes') });
    expect(problemsOf(dir)).toEqual([{ file: 'a.yaml', pointer: '/last4_visible', message: 'must be boolean' }]);
  });

  it('refuses aliases and multiple documents', () => {
    const dir = folder({
      'alias.yaml': valid('alias').replace('display_name: alias', 'display_name: &n Alias\ndescription: *n'),
      'multi.yaml': `${valid('multi')}---\n${valid('multi')}`,
    });
    const problems = problemsOf(dir) as { file: string; message: string }[];
    expect(problems.map((p) => p.file)).toEqual(['alias.yaml', 'multi.yaml']);
    expect(problems[0]?.message).toBe('YAML: Alias resolution is disabled');
    expect(problems[1]?.message).toMatch(/^YAML: Source contains multiple documents/);
  });

  it('throws CatalogError with a readable message for a missing folder', () => {
    expect(() => loadCatalog(join(tmpdir(), 'latchkey-no-such-catalog'))).toThrow(
      /cannot read the catalog folder \(ENOENT\)/,
    );
  });

  it('formats CatalogError messages one problem a line', () => {
    const error = new CatalogError([
      { file: 'a.yaml', pointer: '/id', message: 'bad' },
      { file: 'b.yaml', pointer: '', message: 'worse' },
    ]);
    expect(error.name).toBe('CatalogError');
    expect(error.message).toBe('invalid provider catalog (2 problems):\n  a.yaml /id: bad\n  b.yaml: worse');
  });
});
