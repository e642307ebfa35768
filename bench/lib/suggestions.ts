/**
 * Hotspots of `/v1/forward` recognized in the profile, and what to do about each. Every suggestion
 * is shown with the share the profile measured for it, and only when that share is worth acting on.
 */
import type { ProfileAnalysis, Probe } from './cpu-profile.js';

/**
 * A hotspot, measured either as the time of samples with one of its frames on the stack (`frame`)
 * or as the self time of a component of `componentOf` (`component`), a threshold and the suggestion.
 */
type Hotspot = { readonly label: string; readonly min: number; readonly text: string } & (
  | { readonly frame: RegExp; readonly component?: undefined }
  | { readonly component: string; readonly frame?: undefined }
);

/** The hotspots. */
export const HOTSPOTS: readonly Hotspot[] = [
  {
    label: 'database work on the event loop (kysely + drivers: cache misses, inline audit commits of small batches)',
    frame: /\/node_modules\/(kysely|better-sqlite3|pg|pg-protocol|pg-pool)\//,
    min: 0.03,
    text:
      'With warm caches the event loop only commits audit batches of up to 4 rows itself (larger ones go to the insert thread). ' +
      'A high share under load means cache misses (grants or credentials read per call: raise `LATCHKEY_CACHE_MAX_ENTRIES`) ' +
      'or many small commits (each updates every index of `audit_events`).',
  },
  {
    label: 'audit rows at flush (`recordFields`, canonical JSON + SHA-256 chain hash of inline commits)',
    frame: /^(recordFields|chainRows|recordJson|rowOf|chainHash|canonicalJson)@.*\/modules\/audit\//,
    min: 0.03,
    text:
      'Under load the insert thread builds and hashes the records; the event loop only flattens each event (`recordFields`) and ' +
      'builds the records of inline commits (batches of up to 4 rows). What remains is proportional to the row size.',
  },
  {
    label: 'audit hand-off to the insert thread (`postMessage` structured clone)',
    frame: /^postMessage@/,
    min: 0.03,
    text: 'Each batch is cloned to the insert thread; larger batches (higher load) amortize it. Fewer or shorter columns would shrink it.',
  },
  {
    label: 'API key lookup (`lookupByToken`: SHA-256 of the presented key + cache)',
    frame: /^lookupByToken@/,
    min: 0.02,
    text: 'A presented key costs one SHA-256 (memoized key id, cached record); a high share means the key cache misses.',
  },
  {
    label: 'fastify (routing, hooks, reply), self time',
    component: 'fastify',
    min: 0.05,
    text: 'The streaming doors should `reply.hijack()` and write the raw response (the issue measured 35–42 % for `reply.send(stream)` vs ~5 % for hijack + `pool.stream()`); move per-request hooks off these routes.',
  },
  {
    label: 'logging (pino), self time',
    component: 'pino (logging)',
    min: 0.01,
    text: 'At level `warn` nothing should be serialized per request: no `log.child()` per request, no eager object building for debug/info lines.',
  },
  {
    label: 'schema validation (zod), self time',
    component: 'zod',
    min: 0.01,
    text: '`/v1/forward` has no JSON body: keep zod off this route (validate the few headers with precompiled checks).',
  },
  {
    label: 'egress guard (`egress.ts`, ipaddr.js)',
    frame: /(\/modules\/proxy\/egress\.ts|\/node_modules\/ipaddr\.js\/)/,
    min: 0.02,
    text: 'The guard runs at connect time; with keep-alive it should be near zero. A high share means connections are not reused.',
  },
  {
    label: 'credential open (`openCredential`: the one AES-256-GCM open — the bare proxy pays it too)',
    frame: /^openCredential@/,
    min: 1,
    text: '',
  },
  {
    label: 'upstream client (undici), self time',
    component: 'undici (upstream client)',
    min: 1,
    text: '',
  },
  {
    label: 'socket reads and writes (native syscalls; the bare proxy pays them too), self time',
    component: 'socket I/O (native)',
    min: 1,
    text: '',
  },
  {
    label: 'garbage collection',
    component: 'GC',
    min: 0.06,
    text: 'Allocation per request is high: header objects copied with spreads, per-request closures and JSON strings on the hot path are the usual sources; compare with the bare proxy.',
  },
];

/** The stack probes the profile analysis must count (the frame-based hotspots). */
export const HOTSPOT_PROBES: readonly Probe[] = HOTSPOTS.flatMap((h) =>
  h.frame ? [{ label: h.label, frame: h.frame }] : [],
);

/** Each hotspot's measured time and share of busy CPU. */
export function hotspotShares(
  a: ProfileAnalysis,
): { label: string; ms: number; share: number; text: string; min: number }[] {
  return HOTSPOTS.map((h) => {
    const m = h.frame
      ? a.probes.find((p) => p.label === h.label)
      : a.components.find((c) => c.component === h.component);
    return { label: h.label, ms: m?.ms ?? 0, share: m?.share ?? 0, text: h.text, min: h.min };
  });
}

/**
 * The suggestions whose hotspot reaches its threshold, most expensive first, each with its share.
 *
 * @returns markdown lines (without the bullet).
 */
export function suggestionsFor(a: ProfileAnalysis): string[] {
  const out = hotspotShares(a)
    .filter((h) => h.text && h.share >= h.min)
    .sort((x, y) => y.share - x.share)
    .map((h) => `**${h.label} — ${(h.share * 100).toFixed(1)} % of busy CPU.** ${h.text}`);
  return out.length ? out : ['No hotspot above its threshold.'];
}
