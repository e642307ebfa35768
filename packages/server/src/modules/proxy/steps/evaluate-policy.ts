import { createHostMatcher, type HostMatcher } from '@latchkey/providers';
import { LatchkeyError } from '../../../errors.js';

interface Binding {
  entries: { match: HostMatcher; port: number | null }[];
}
/**
 * Compiled bindings by host list. Keyed by the list's content, not its identity: a credential
 * reloaded after a cache miss brings a new array with the same hosts, and many credentials share
 * their hosts. Bounded; cleared when full.
 */
const compiled = new Map<string, Binding>();
const COMPILED_MAX = 10_000;

function compile(allowedHosts: readonly string[]): Binding {
  const key = allowedHosts.length === 1 ? allowedHosts[0]! : allowedHosts.join('\n');
  let b = compiled.get(key);
  if (!b) {
    if (compiled.size >= COMPILED_MAX) compiled.clear();
    b = {
      entries: allowedHosts.map((h) => {
        const m = /^(.*?)(?::(\d{1,5}))?$/.exec(h)!;
        return { match: createHostMatcher([m[1]!]), port: m[2] ? Number(m[2]) : null };
      }),
    };
    compiled.set(key, b);
  }
  return b;
}

const deny = (policyError: string, message: string) =>
  new LatchkeyError('policy_violation', { message, details: { policy_error: policyError } });

/**
 * Step 5 (egress binding, DESIGN §7 item 2): the URL's scheme, host and port must be allowed for
 * this credential. An entry without a port allows only the scheme's default port; `http` is
 * allowed only for hosts in `LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS`.
 *
 * @param allowedHosts the credential's `host` / `*.suffix` entries, optionally with `:port`.
 * @param httpHosts hosts (or host:port) allowed over plain http.
 * @throws LatchkeyError `policy_violation` with `policy_error` `host_not_allowed` | `port_not_allowed` | `scheme_not_allowed`.
 */
export function checkEgressBinding(url: URL, allowedHosts: readonly string[], httpHosts: readonly string[]): void {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const defaultPort = url.protocol === 'https:' ? 443 : 80;
  const b = compile(allowedHosts);
  // The matcher takes the URL form: IPv6 literals keep their brackets, as patterns write them (`[::1]`).
  const hostEntries = b.entries.filter((e) => e.match(url.hostname));
  if (hostEntries.length === 0) throw deny('host_not_allowed', 'This credential may not be sent to this host.');
  if (!hostEntries.some((e) => (e.port ?? defaultPort) === port)) {
    throw deny('port_not_allowed', 'This credential may not be sent to this port.');
  }
  const httpForms = [host, `${host}:${port}`, url.hostname, `${url.hostname}:${port}`];
  if (url.protocol === 'http:' && !httpForms.some((f) => httpHosts.includes(f))) {
    throw deny('scheme_not_allowed', 'This credential may only be sent over https.');
  }
}
