import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector } from 'undici';

/** Thrown at connect time when an address is not allowed (mapped to `403 egress_denied`). */
export class EgressDeniedError extends Error {
  override readonly name = 'EgressDeniedError';
  readonly code = 'LATCHKEY_EGRESS_DENIED';
}

/** Decides which IP addresses upstream calls may reach (DESIGN §4.1 step 9). */
export interface EgressPolicy {
  /** Whether `ip` (v4 or v6 literal) may be connected to. */
  isAddressAllowed(ip: string): boolean;
}

/**
 * Only globally routable unicast addresses are allowed, plus the operator's CIDR allow-list.
 * IPv4-mapped, NAT64 (64:ff9b::/96), 6to4 and Teredo IPv6 forms are judged by the IPv4 they embed
 * or refused, so no encoding of a private address gets through.
 *
 * @param allowCidrs e.g. `['127.0.0.0/8']`.
 * @throws TypeError for an unparsable CIDR (config is validated before this).
 */
export function createEgressPolicy(allowCidrs: readonly string[]): EgressPolicy {
  const ranges = allowCidrs.map((c) => ipaddr.parseCIDR(c));
  const allowListed = (a: ipaddr.IPv4 | ipaddr.IPv6) =>
    ranges.some(([range, bits]) => a.kind() === range.kind() && a.match([range, bits] as never));
  return {
    isAddressAllowed(ip) {
      if (!ipaddr.isValid(ip)) return false;
      let a = ipaddr.parse(ip);
      if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
      if (allowListed(a)) return true;
      return a.range() === 'unicast';
    },
  };
}

/**
 * An undici Agent whose connector checks every address at connect time: IP literals directly,
 * host names after DNS resolution; the connection goes to the checked address (DNS pinning), and
 * TLS still verifies the original host name. No redirects are followed (undici's default).
 *
 * @param policy the egress policy.
 * @param opts timeouts in milliseconds.
 */
export function createEgressAgent(
  policy: EgressPolicy,
  opts: { connectTimeoutMs: number; headersTimeoutMs: number; bodyTimeoutMs: number },
): Agent {
  const connect = buildConnector({ timeout: opts.connectTimeoutMs });
  const guarded: buildConnector.connector = (options, callback) => {
    const host = options.hostname.startsWith('[') ? options.hostname.slice(1, -1) : options.hostname;
    const go = (ip: string) => {
      if (!policy.isAddressAllowed(ip)) {
        callback(new EgressDeniedError('address not allowed'), null);
        return;
      }
      connect(
        {
          ...options,
          hostname: ip,
          servername: options.servername ?? (net.isIP(host) ? undefined : host),
        } as typeof options,
        callback,
      );
    };
    if (net.isIP(host)) {
      go(host);
      return;
    }
    dns.lookup(host, { all: true, verbatim: true }, (err, addrs) => {
      if (err || addrs.length === 0) {
        callback(err ?? new Error('no address'), null);
        return;
      }
      // Every answer must be allowed: a name that resolves to one public and one private address is refused.
      const denied = addrs.find((a) => !policy.isAddressAllowed(a.address));
      if (denied) {
        callback(new EgressDeniedError('address not allowed'), null);
        return;
      }
      go(addrs[0]!.address);
    });
  };
  return new Agent({
    connect: guarded,
    headersTimeout: opts.headersTimeoutMs,
    bodyTimeout: opts.bodyTimeoutMs,
    keepAliveTimeout: 30_000,
    connections: 128,
  });
}
