// Host patterns bind a credential to the hosts it may be sent to (DESIGN.md section 7, item 2).
// Two forms only: an exact host name, or `*.suffix`, which matches any subdomain of the suffix at
// any depth but never the bare suffix. Matching is case-insensitive and ignores one trailing dot.
// Hosts are compared in their ASCII (punycode) form, as WHATWG URL's `hostname` gives them.

import { isIPv4, isIPv6 } from 'node:net';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_HOST_LENGTH = 253;

/**
 * Lower-cases a host name and removes one trailing dot (`API.Stripe.com.` → `api.stripe.com`).
 *
 * @param host A host name or pattern, without port.
 * @returns The normalised form; it is not validated.
 * @throws {TypeError} If `host` is not a string.
 */
export function normalizeHost(host: string): string {
  if (typeof host !== 'string') throw new TypeError('host must be a string');
  const lower = host.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function isDomainName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_HOST_LENGTH) return false;
  return name.split('.').every((label) => LABEL.test(label));
}

function isIpv6Literal(host: string): boolean {
  return host.startsWith('[') && host.endsWith(']') && isIPv6(host.slice(1, -1));
}

/** Whether a normalised host is something a URL could name: a domain name, IPv4 or `[IPv6]`. */
function isValidHost(host: string): boolean {
  return isDomainName(host) || isIpv6Literal(host);
}

/**
 * Checks one allowed-hosts pattern, after {@link normalizeHost}.
 *
 * Accepted: an exact host (`api.stripe.com`, `127.0.0.1`, `[::1]`) or `*.suffix` where the suffix
 * has at least two labels and is not an IP address (`*.stripe.com`, `*.eu.example.org`).
 * Rejected: `*`, `*.com`, `**.x.com`, `api.*.com`, `*stripe.com`, empty labels, ports, URLs.
 *
 * @param pattern The pattern as written by a catalog author or an operator.
 * @returns `undefined` when valid, otherwise a message saying what is wrong.
 * @throws {TypeError} If `pattern` is not a string.
 * @example validateHostPattern('*.com') // → 'a wildcard needs at least two labels after "*.", as in "*.example.com"'
 */
export function validateHostPattern(pattern: string): string | undefined {
  const p = normalizeHost(pattern);
  if (p.length === 0) return 'must not be empty';
  if (p.startsWith('*.')) {
    const suffix = p.slice(2);
    if (suffix.includes('*')) return 'only one leading "*." wildcard is allowed';
    if (!isDomainName(suffix)) return `"${suffix}" is not a valid host name`;
    const labels = suffix.split('.');
    if (labels.length < 2) return 'a wildcard needs at least two labels after "*.", as in "*.example.com"';
    if (isIPv4(suffix) || /^[0-9]+$/.test(labels[labels.length - 1] ?? '')) {
      return 'a wildcard cannot stand for part of an IP address';
    }
    return undefined;
  }
  if (p.includes('*')) return 'a wildcard is only allowed as a leading "*." followed by a host name';
  if (!isValidHost(p)) {
    return 'must be a host name (letters, digits, hyphens and dots), an IP address or "*.suffix"; no scheme, port or path';
  }
  return undefined;
}

/** A precompiled set of host patterns; see {@link createHostMatcher}. */
export type HostMatcher = (host: string) => boolean;

/**
 * Precompiles host patterns into a matcher, for the proxy's hot path. Invalid patterns never
 * match anything (fail closed); validate them with {@link validateHostPattern} when they are stored.
 *
 * @param patterns Exact hosts and `*.suffix` patterns.
 * @returns A function telling whether a host (URL `hostname`, no port) is allowed.
 * @throws {TypeError} If `patterns` is not an array of strings.
 * @example createHostMatcher(['*.stripe.com'])('files.stripe.com') // → true
 */
export function createHostMatcher(patterns: readonly string[]): HostMatcher {
  if (!Array.isArray(patterns)) throw new TypeError('patterns must be an array of strings');
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const pattern of patterns) {
    if (typeof pattern !== 'string') throw new TypeError('patterns must be an array of strings');
    if (validateHostPattern(pattern) !== undefined) continue;
    const p = normalizeHost(pattern);
    if (p.startsWith('*.'))
      suffixes.push(p.slice(1)); // keeps the dot: '.stripe.com'
    else exact.add(p);
  }
  return (host: string): boolean => {
    if (typeof host !== 'string') return false;
    const h = normalizeHost(host);
    // Every exact pattern was validated above, so a host equal to one is valid: the hot path's
    // common case (an exact host) skips the per-label check.
    if (exact.has(h)) return true;
    if (!isValidHost(h)) return false;
    // A valid host has no empty label, so a match here always has at least one label before
    // the suffix: 'evil-stripe.com' and 'stripe.com' never end with '.stripe.com'.
    return suffixes.some((suffix) => h.length > suffix.length && h.endsWith(suffix));
  };
}

/**
 * Tells whether a host may receive a credential bound to `patterns`: an exact match, or a
 * subdomain (any depth) of a `*.suffix` pattern. Case-insensitive; one trailing dot is ignored on
 * both sides; invalid patterns never match.
 *
 * @param host The request's host name (WHATWG URL `hostname`, no port).
 * @param patterns Exact hosts and `*.suffix` patterns.
 * @returns `true` when allowed.
 * @throws {TypeError} If `patterns` is not an array of strings.
 * @example
 * isHostAllowed('api.stripe.com', ['*.stripe.com']) // → true
 * isHostAllowed('stripe.com', ['*.stripe.com'])     // → false
 * isHostAllowed('evil-stripe.com', ['*.stripe.com']) // → false
 */
export function isHostAllowed(host: string, patterns: readonly string[]): boolean {
  return createHostMatcher(patterns)(host);
}
