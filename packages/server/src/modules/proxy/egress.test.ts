import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LatchkeyError } from '../../errors.js';
import { createEgressAgent, createEgressPolicy, EgressDeniedError } from './egress.js';
import { checkEgressBinding } from './steps/evaluate-policy.js';
import { mapUpstreamError } from './steps/forward.js';
import { parseTarget, templateUrl } from './steps/template-url.js';

/** Runs `fn` and returns the LatchkeyError it throws (fails the test if it does not throw one). */
function thrown(fn: () => unknown): LatchkeyError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LatchkeyError);
    return err as LatchkeyError;
  }
  throw new Error('expected a LatchkeyError, nothing was thrown');
}

describe('createEgressPolicy (no allow-list)', () => {
  const policy = createEgressPolicy([]);

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback, top of 127/8'],
    ['10.0.0.1', 'RFC 1918'],
    ['10.255.255.254', 'RFC 1918'],
    ['172.16.0.1', 'RFC 1918'],
    ['172.31.255.254', 'RFC 1918'],
    ['192.168.1.1', 'RFC 1918'],
    ['169.254.169.254', 'link-local: cloud metadata'],
    ['100.64.0.1', 'CGNAT'],
    ['0.0.0.0', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['192.0.2.1', 'documentation (TEST-NET-1)'],
    ['198.18.0.1', 'benchmarking'],
    ['240.0.0.1', 'reserved'],
    ['::1', 'IPv6 loopback'],
    ['::', 'IPv6 unspecified'],
    ['fe80::1', 'IPv6 link-local'],
    ['fc00::1', 'IPv6 unique local'],
    ['fd00::1', 'IPv6 unique local'],
    ['ff02::1', 'IPv6 multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex form'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
    ['::127.0.0.1', 'IPv4-compatible loopback (deprecated form)'],
    ['64:ff9b::7f00:1', 'NAT64 of 127.0.0.1'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 of 169.254.169.254'],
    ['2002:7f00:1::', '6to4 of 127.0.0.1'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
    ['2001:db8::1', 'IPv6 documentation'],
    ['fe80::1%eth0', 'IPv6 link-local with zone id'],
  ])('refuses %s (%s)', (ip) => {
    expect(policy.isAddressAllowed(ip)).toBe(false);
  });

  it.each(['8.8.8.8', '1.1.1.1', '93.184.215.14', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e'])(
    'allows globally routable %s',
    (ip) => {
      expect(policy.isAddressAllowed(ip)).toBe(true);
    },
  );

  it('refuses anything that is not an IP literal (names must be resolved first)', () => {
    expect(policy.isAddressAllowed('localhost')).toBe(false);
    expect(policy.isAddressAllowed('example.com')).toBe(false);
    expect(policy.isAddressAllowed('')).toBe(false);
    expect(policy.isAddressAllowed('[::1]')).toBe(false);
  });

  it('judges an IPv4-mapped public address by the IPv4 it embeds', () => {
    expect(policy.isAddressAllowed('::ffff:8.8.8.8')).toBe(true);
  });
});

describe('createEgressPolicy (allow-list 127.0.0.0/8)', () => {
  const policy = createEgressPolicy(['127.0.0.0/8']);

  it('allows the allow-listed range, also in its IPv4-mapped form', () => {
    expect(policy.isAddressAllowed('127.0.0.1')).toBe(true);
    expect(policy.isAddressAllowed('127.0.0.2')).toBe(true);
    expect(policy.isAddressAllowed('127.255.255.254')).toBe(true);
    expect(policy.isAddressAllowed('::ffff:127.0.0.1')).toBe(true);
  });

  it('still refuses everything outside the allow-listed range', () => {
    expect(policy.isAddressAllowed('10.0.0.1')).toBe(false);
    expect(policy.isAddressAllowed('169.254.169.254')).toBe(false);
    expect(policy.isAddressAllowed('::ffff:10.0.0.1')).toBe(false);
    // An IPv4 CIDR does not open IPv6 loopback.
    expect(policy.isAddressAllowed('::1')).toBe(false);
  });

  it('still allows public addresses', () => {
    expect(policy.isAddressAllowed('8.8.8.8')).toBe(true);
  });

  it('an IPv6 allow-list entry opens only its own range', () => {
    const v6 = createEgressPolicy(['::1/128']);
    expect(v6.isAddressAllowed('::1')).toBe(true);
    expect(v6.isAddressAllowed('127.0.0.1')).toBe(false);
    expect(v6.isAddressAllowed('fe80::1')).toBe(false);
  });

  it('throws on an unparsable CIDR', () => {
    expect(() => createEgressPolicy(['not-a-cidr'])).toThrow();
  });
});

describe('createEgressAgent (connect-time guard over real sockets)', () => {
  // Dual-stack listener: 127.0.0.1:port and [::1]:port reach the same server.
  let server: http.Server;
  let port = 0;
  let hits = 0;
  const timeouts = { connectTimeoutMs: 2000, headersTimeoutMs: 2000, bodyTimeoutMs: 2000 };

  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      hits += 1;
      res.end('reached');
    });
    await new Promise<void>((resolve) => server.listen(0, '::', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it.each(['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', 'localhost'])(
    'refuses http://%s:PORT before any byte is sent',
    async (host) => {
      const agent = createEgressAgent(createEgressPolicy([]), timeouts);
      const before = hits;
      try {
        const err = await request(`http://${host}:${port}/`, { dispatcher: agent }).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(EgressDeniedError);
        expect(mapUpstreamError(err).code).toBe('egress_denied');
        expect(mapUpstreamError(err).status).toBe(403);
        expect(hits).toBe(before);
      } finally {
        await agent.close();
      }
    },
  );

  it('reaches the same server when 127.0.0.0/8 is allow-listed (the refusal above is the guard)', async () => {
    const agent = createEgressAgent(createEgressPolicy(['127.0.0.0/8']), timeouts);
    const before = hits;
    try {
      const res = await request(`http://127.0.0.1:${port}/`, { dispatcher: agent });
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toBe('reached');
      expect(hits).toBe(before + 1);
    } finally {
      await agent.close();
    }
  });
});

describe('checkEgressBinding', () => {
  const https = (u: string) => new URL(u);
  const refusal = (url: string, hosts: string[], httpHosts: string[] = []) => {
    const err = thrown(() => checkEgressBinding(new URL(url), hosts, httpHosts));
    expect(err.code).toBe('policy_violation');
    expect(err.status).toBe(403);
    return err.details?.policy_error;
  };

  it('allows an exact host on the scheme default port', () => {
    expect(() => checkEgressBinding(https('https://api.example.com/v1'), ['api.example.com'], [])).not.toThrow();
    expect(() => checkEgressBinding(https('https://api.example.com:443/v1'), ['api.example.com'], [])).not.toThrow();
  });

  it('*.example.com matches subdomains but not the bare domain or look-alikes', () => {
    const hosts = ['*.example.com'];
    expect(() => checkEgressBinding(https('https://api.example.com/'), hosts, [])).not.toThrow();
    expect(() => checkEgressBinding(https('https://a.b.example.com/'), hosts, [])).not.toThrow();
    expect(refusal('https://example.com/', hosts)).toBe('host_not_allowed');
    expect(refusal('https://evilexample.com/', hosts)).toBe('host_not_allowed');
    expect(refusal('https://evil-example.com/', hosts)).toBe('host_not_allowed');
    expect(refusal('https://example.com.evil.com/', hosts)).toBe('host_not_allowed');
  });

  it('refuses a host that only starts with an allowed host', () => {
    expect(refusal('https://api.example.com.evil.com/', ['api.example.com'])).toBe('host_not_allowed');
    expect(refusal('https://api.example.com.evil.com/', ['*.example.com'])).toBe('host_not_allowed');
    expect(refusal('https://xapi.example.com/', ['api.example.com'])).toBe('host_not_allowed');
  });

  it('is case-insensitive (WHATWG URL lower-cases the host)', () => {
    expect(() => checkEgressBinding(https('https://API.Example.COM/'), ['api.example.com'], [])).not.toThrow();
  });

  it('an entry without a port allows only the scheme default port', () => {
    expect(refusal('https://api.example.com:8443/', ['api.example.com'])).toBe('port_not_allowed');
    expect(refusal('https://api.example.com:80/', ['api.example.com'])).toBe('port_not_allowed');
  });

  it('an entry with a port allows exactly that port', () => {
    const hosts = ['api.example.com:8443'];
    expect(() => checkEgressBinding(https('https://api.example.com:8443/'), hosts, [])).not.toThrow();
    expect(refusal('https://api.example.com/', hosts)).toBe('port_not_allowed');
    expect(refusal('https://api.example.com:8444/', hosts)).toBe('port_not_allowed');
  });

  it('several entries for one host each contribute their port', () => {
    const hosts = ['api.example.com', 'api.example.com:8443'];
    expect(() => checkEgressBinding(https('https://api.example.com/'), hosts, [])).not.toThrow();
    expect(() => checkEgressBinding(https('https://api.example.com:8443/'), hosts, [])).not.toThrow();
    expect(refusal('https://api.example.com:9000/', hosts)).toBe('port_not_allowed');
  });

  it('refuses plain http unless the host (or host:port) is allow-listed for http', () => {
    expect(refusal('http://api.example.com/', ['api.example.com'])).toBe('scheme_not_allowed');
    expect(refusal('http://api.example.com/', ['api.example.com'], ['other.example.com'])).toBe('scheme_not_allowed');
    expect(refusal('http://api.example.com:8080/', ['api.example.com:8080'], ['api.example.com:9090'])).toBe(
      'scheme_not_allowed',
    );
    expect(() =>
      checkEgressBinding(new URL('http://api.example.com/'), ['api.example.com'], ['api.example.com']),
    ).not.toThrow();
    expect(() =>
      checkEgressBinding(new URL('http://api.example.com:8080/'), ['api.example.com:8080'], ['api.example.com:8080']),
    ).not.toThrow();
  });

  it('http defaults to port 80 for the binding', () => {
    expect(() =>
      checkEgressBinding(new URL('http://api.example.com/'), ['api.example.com'], ['api.example.com']),
    ).not.toThrow();
    expect(refusal('http://api.example.com:443/', ['api.example.com'], ['api.example.com'])).toBe('port_not_allowed');
  });

  it('binds IP literals by their canonical WHATWG form', () => {
    // Decimal, hex, octal and short forms all become 127.0.0.1 before the binding sees them.
    for (const u of [
      'http://2130706433:8080/',
      'http://0x7f.0.0.1:8080/',
      'http://0177.0.0.1:8080/',
      'http://127.1:8080/',
    ]) {
      expect(() => checkEgressBinding(new URL(u), ['127.0.0.1:8080'], ['127.0.0.1'])).not.toThrow();
    }
    expect(refusal('http://127.0.0.2:8080/', ['127.0.0.1:8080'], ['127.0.0.2'])).toBe('host_not_allowed');
  });

  it('binds IPv6 literals written in brackets, as the host pattern syntax documents', () => {
    expect(() =>
      checkEgressBinding(new URL('https://[2606:4700:4700::1111]/'), ['[2606:4700:4700::1111]'], []),
    ).not.toThrow();
    expect(() => checkEgressBinding(new URL('https://[::1]:8443/'), ['[::1]:8443'], [])).not.toThrow();
    expect(refusal('https://[::1]:8444/', ['[::1]:8443'])).toBe('port_not_allowed');
    expect(refusal('https://[::2]:8443/', ['[::1]:8443'])).toBe('host_not_allowed');
    expect(refusal('https://[::1]/', ['127.0.0.1'])).toBe('host_not_allowed');
    // Plain http for an IPv6 literal: the operator may write it with or without brackets.
    expect(refusal('http://[::1]:8080/', ['[::1]:8080'])).toBe('scheme_not_allowed');
    expect(() => checkEgressBinding(new URL('http://[::1]:8080/'), ['[::1]:8080'], ['[::1]:8080'])).not.toThrow();
    expect(() => checkEgressBinding(new URL('http://[::1]:8080/'), ['[::1]:8080'], ['::1'])).not.toThrow();
  });

  it('an empty allow-list refuses everything', () => {
    expect(refusal('https://api.example.com/', [])).toBe('host_not_allowed');
  });
});

describe('templateUrl', () => {
  it('fills placeholders and appends query parameters', () => {
    const u = templateUrl('https://api.example.com/v1/users/{id}/items', { id: '42' }, { a: '1', b: ['x', 'y'] });
    expect(u.href).toBe('https://api.example.com/v1/users/42/items?a=1&b=x&b=y');
  });

  it('percent-encodes path parameters so ../ cannot escape the path', () => {
    const u = templateUrl('https://api.example.com/v1/users/{id}', { id: '../admin' }, undefined);
    expect(u.pathname).toBe('/v1/users/..%2Fadmin');
    expect(u.href).toBe('https://api.example.com/v1/users/..%2Fadmin');
  });

  it('percent-encodes ?, #, @ and / in path parameters (no query, fragment or host injection)', () => {
    const u = templateUrl('https://api.example.com/v1/{id}', { id: 'a?b=1#frag/@evil.com' }, undefined);
    expect(u.host).toBe('api.example.com');
    expect(u.search).toBe('');
    expect(u.hash).toBe('');
    expect(u.pathname).toBe('/v1/a%3Fb%3D1%23frag%2F%40evil.com');
  });

  it('a placeholder in the host cannot change the host to another one', () => {
    // encodeURIComponent turns "/" into %2F, which WHATWG URL refuses in a host: no new authority.
    expect(thrown(() => templateUrl('https://{sub}.example.com/', { sub: 'evil.com/x' }, undefined)).code).toBe(
      'invalid_request',
    );
    expect(thrown(() => templateUrl('https://{sub}.example.com/', { sub: 'evil.com#' }, undefined)).code).toBe(
      'invalid_request',
    );
    expect(templateUrl('https://{sub}.example.com/', { sub: 'eu' }, undefined).hostname).toBe('eu.example.com');
  });

  it('a missing path parameter is invalid_request naming it', () => {
    const err = thrown(() => templateUrl('https://api.example.com/v1/{id}', undefined, undefined));
    expect(err.code).toBe('invalid_request');
    expect(err.status).toBe(400);
    expect(err.details).toEqual({ path_param: 'id' });
    const err2 = thrown(() => templateUrl('https://api.example.com/v1/{id}/{sub}', { id: '1' }, undefined));
    expect(err2.details).toEqual({ path_param: 'sub' });
  });

  it('an unused path parameter is invalid_request naming it', () => {
    const err = thrown(() => templateUrl('https://api.example.com/v1/{id}', { id: '1', extra: 'x' }, undefined));
    expect(err.code).toBe('invalid_request');
    expect(err.details).toEqual({ path_param: 'extra' });
  });

  it('refuses userinfo in the URL', () => {
    for (const u of [
      'https://user:pass@api.example.com/',
      'https://user@api.example.com/',
      'https://:pass@api.example.com/',
    ]) {
      const err = thrown(() => templateUrl(u, undefined, undefined));
      expect(err.code).toBe('invalid_request');
      expect(err.details).toEqual({ field: 'url' });
    }
  });

  it('refuses relative and non-http(s) URLs', () => {
    for (const u of [
      '/v1/users',
      'api.example.com/v1',
      'file:///etc/passwd',
      'ftp://example.com/',
      'gopher://127.0.0.1:6379/_x',
      'javascript:alert(1)',
    ]) {
      const err = thrown(() => templateUrl(u, undefined, undefined));
      expect(err.code).toBe('invalid_request');
    }
  });

  it('drops the fragment', () => {
    expect(templateUrl('https://api.example.com/x#frag', undefined, undefined).href).toBe('https://api.example.com/x');
  });
});

describe('parseTarget', () => {
  it('parses an absolute https URL and drops the fragment', () => {
    expect(parseTarget('https://api.example.com/v1?a=1#x').href).toBe('https://api.example.com/v1?a=1');
    // An empty fragment too: `hash` reads '' for it, but `href` would keep the '#'.
    expect(parseTarget('https://api.example.com/v1?a=1#').href).toBe('https://api.example.com/v1?a=1');
  });

  it('canonicalises numeric IPv4 forms to dotted decimal (what the binding and guard see)', () => {
    expect(parseTarget('http://2130706433:81/').hostname).toBe('127.0.0.1');
    expect(parseTarget('http://0x7f.0.0.1:81/').hostname).toBe('127.0.0.1');
    expect(parseTarget('http://0177.0.0.1:81/').hostname).toBe('127.0.0.1');
    expect(parseTarget('http://127.1:81/').hostname).toBe('127.0.0.1');
    expect(parseTarget('http://[::ffff:127.0.0.1]:81/').hostname).toBe('[::ffff:7f00:1]');
  });

  it('refuses a missing header', () => {
    const err = thrown(() => parseTarget(undefined));
    expect(err.code).toBe('invalid_request');
    expect(err.details).toEqual({ header: 'latchkey-target' });
    expect(thrown(() => parseTarget('')).code).toBe('invalid_request');
  });

  it('refuses userinfo', () => {
    for (const u of [
      'https://user:pass@api.example.com/',
      'https://user@api.example.com/',
      'http://api.example.com@127.0.0.1/',
    ]) {
      const err = thrown(() => parseTarget(u));
      expect(err.code).toBe('invalid_request');
      expect(err.details).toEqual({ header: 'latchkey-target' });
    }
  });

  it('refuses relative and non-http(s) targets', () => {
    for (const u of ['/v1', 'file:///etc/passwd', 'gopher://127.0.0.1:6379/', 'ws://api.example.com/']) {
      expect(thrown(() => parseTarget(u)).code).toBe('invalid_request');
    }
  });
});
