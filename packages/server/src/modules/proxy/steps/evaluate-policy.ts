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

/** Whether `httpHosts` lists the host (bare or bracketed IPv6), alone or with this port. */
function httpAllowed(host: string, hostname: string, port: number, httpHosts: readonly string[]): boolean {
  for (const f of httpHosts) {
    if (f === host || f === hostname || f === `${host}:${port}` || f === `${hostname}:${port}`) return true;
  }
  return false;
}

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
  // Each URL getter slices the serialized URL: read each once.
  const { hostname, protocol } = url;
  const explicitPort = url.port;
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  const defaultPort = protocol === 'https:' ? 443 : 80;
  const port = explicitPort ? Number(explicitPort) : defaultPort;
  const b = compile(allowedHosts);
  // The matcher takes the URL form: IPv6 literals keep their brackets, as patterns write them (`[::1]`).
  let hostMatched = false;
  let portMatched = false;
  for (const e of b.entries) {
    if (!e.match(hostname)) continue;
    hostMatched = true;
    if ((e.port ?? defaultPort) === port) {
      portMatched = true;
      break;
    }
  }
  if (!hostMatched) throw deny('host_not_allowed', 'This credential may not be sent to this host.');
  if (!portMatched) throw deny('port_not_allowed', 'This credential may not be sent to this port.');
  if (protocol === 'http:' && !httpAllowed(host, hostname, port, httpHosts)) {
    throw deny('scheme_not_allowed', 'This credential may only be sent over https.');
  }
}
