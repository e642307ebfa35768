/**
 * Reading a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function, inclusive time of
 * Latchkey's own functions, and a breakdown by component, over a time window.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
/** The JSON written by `node --cpu-prof`. Times are µs on the monotonic clock. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A function and its share of the profiled CPU time (idle excluded). */
export interface Hotspot {
  readonly fn: string;
  readonly where: string;
  readonly component: string;
  readonly ms: number;
  readonly share: number;
}

/** A named part of the work, recognized by a frame on the stack (`functionName@url`). */
export interface Probe {
  readonly label: string;
  readonly frame: RegExp;
}

/** What {@link analyzeProfile} returns. */
export interface ProfileAnalysis {
  /** Busy (non-idle) CPU time in the window, ms. */
  readonly busyMs: number;
  /** Wall time of the window, ms. */
  readonly windowMs: number;
  /** Functions by self time, descending. */
  readonly self: Hotspot[];
  /** Latchkey source functions by inclusive time (self + callees), descending. */
  readonly inclusive: Hotspot[];
  /** Self time by component, descending. */
  readonly components: { component: string; ms: number; share: number }[];
  /** Per probe, the time of samples with a matching frame anywhere on the stack (in probe order). */
  readonly probes: { label: string; ms: number; share: number }[];
}

const COMPONENTS: [RegExp, string][] = [
  // better-sqlite3 runs statements synchronously in native code: that time shows as self time of
  // the JS frame that called it, kysely's SQLite driver.
  [
    /\/node_modules\/kysely\/dist\/esm\/dialect\/sqlite\/sqlite-driver\.js$/,
    'SQLite statements (native, via kysely driver)',
  ],
  [/\/packages\/server\/(src|dist)\/modules\/audit\//, 'latchkey: audit'],
  [/\/packages\/server\/(src|dist)\/modules\/proxy\//, 'latchkey: proxy pipeline'],
  [/\/packages\/server\/(src|dist)\/http\//, 'latchkey: http (auth, errors)'],
  [/\/packages\/server\/(src|dist)\/crypto\//, 'latchkey: crypto'],
  [/\/packages\/server\/(src|dist)\/coordination\//, 'latchkey: caches, nonces, rate limit'],
  [/\/packages\/server\/(src|dist)\//, 'latchkey: other modules'],
  [/\/packages\/api\/(src|dist)\//, '@latchkey/api'],
  [
    /\/node_modules\/(fastify|find-my-way|avvio|light-my-request|@fastify|fast-json-stringify|fastify-plugin)\//,
    'fastify',
  ],
  [/\/node_modules\/undici\//, 'undici (upstream client)'],
  [/\/node_modules\/(pino|sonic-boom|thread-stream|pino-std-serializers)\//, 'pino (logging)'],
  [/\/node_modules\/kysely\//, 'kysely (query builder)'],
  [/\/node_modules\/better-sqlite3\//, 'better-sqlite3'],
  [/\/node_modules\/(pg|pg-protocol|pg-pool)\//, 'pg'],
  [/\/node_modules\/zod\//, 'zod'],
  [/\/node_modules\/ipaddr\.js\//, 'ipaddr.js (egress guard)'],
  [/\/node_modules\//, 'other dependencies'],
  [/^node:_http|^node:internal\/http|^node:http/, 'node http server'],
  [/^node:internal\/streams|^node:stream/, 'node streams'],
  [/^node:internal\/crypto|^node:crypto/, 'node crypto'],
  [/^node:net|^node:internal\/(net|stream_base_commons|tcp)/, 'node net/sockets'],
  [/^node:/, 'node internals (other)'],
];

/** Native functions without a script, by name. */
const NATIVE: [RegExp, string][] = [
  [
    /^(writev|writeBuffer|writeLatin1String|writeUtf8String|writeAsciiString|writeUcs2String|onStreamRead)$/,
    'socket I/O (native)',
  ],
  [/^(runMicrotasks|processTicksAndRejections)$/, 'microtask queue (native)'],
];

/** The component a function belongs to, from its script URL (or its name for VM pseudo-frames). */
export function componentOf(frame: CallFrame): string {
  if (frame.functionName === '(garbage collector)') return 'GC';
  if (frame.functionName === '(program)') return 'V8/native (program)';
  if (!frame.url) for (const [re, name] of NATIVE) if (re.test(frame.functionName)) return name;
  for (const [re, name] of COMPONENTS) if (re.test(frame.url)) return name;
  return frame.url ? 'other' : 'native (no script)';
}

function shortUrl(url: string): string {
  const i = url.search(/\/(packages|node_modules)\//);
  if (i >= 0) return url.slice(i + 1).replace(/^node_modules\//, '');
  return url.replace(/^file:\/\//, '');
}

const lineCache = new Map<string, string[]>();

/**
 * The 1-based line of a function. tsx compiles each TypeScript file onto one line, so for `.ts`
 * files the profile's line is useless: the function is looked up by name in the source instead.
 */
function lineOf(f: CallFrame): number | undefined {
  if (!(f.url.startsWith('file://') && f.url.endsWith('.ts') && f.lineNumber === 0)) return f.lineNumber + 1;
  const bare = f.functionName.replace(/^.*\./, '');
  if (!/^#?[\w$]+$/.test(bare)) return undefined;
  const name = bare.replace(/\$/g, '\\$').replace(/^#/, '#?');
  let lines = lineCache.get(f.url);
  if (!lines) {
    try {
      lines = readFileSync(fileURLToPath(f.url), 'utf8').split('\n');
    } catch {
      lines = [];
    }
    lineCache.set(f.url, lines);
  }
  // Definitions only (not calls): `function f(`, `f = (`/`f = async`, `async f(…) {`, `f(…): T {`.
  const defs = [
    new RegExp(`\\bfunction\\*?\\s+${name}\\s*[<(]`),
    new RegExp(`\\b${name}\\s*[:=]\\s*(async\\s*)?(function\\b|\\()`),
    new RegExp(`^\\s*(static\\s+|async\\s+|get\\s+|set\\s+|private\\s+)*${name}\\s*(<[^>]*>)?\\(.*\\{\\s*$`),
  ];
  const i = lines.findIndex((l) => defs.some((re) => re.test(l)));
  return i >= 0 ? i + 1 : undefined;
}

function whereOf(f: CallFrame): string {
  if (!f.url) return '';
  const line = lineOf(f);
  return line === undefined ? shortUrl(f.url) : `${shortUrl(f.url)}:${line}`;
}

const keyOf = (f: CallFrame) =>
  `${f.functionName || '(anonymous)'}\u0000${shortUrl(f.url)}:${f.lineNumber + 1}:${f.lineNumber ? 0 : f.columnNumber}`;

/**
 * Analyzes the samples of `profile` taken within `[fromUs, toUs]` (monotonic µs; the same clock as
 * `process.hrtime`, so the load window of the orchestrator selects the server's samples).
 *
 * @param top how many entries each list keeps.
 */
export function analyzeProfile(
  profile: CpuProfile,
  fromUs: number,
  toUs: number,
  probes: readonly Probe[] = [],
  top = 20,
): ProfileAnalysis {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < fromUs || t > toUs) continue;
    // A sample stands for the interval up to the next one.
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  let busyUs = 0;
  const self = new Map<string, { frame: CallFrame; us: number }>();
  const inclusive = new Map<string, { frame: CallFrame; us: number }>();
  const components = new Map<string, number>();
  const probeUs = probes.map(() => 0);
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const f = node.callFrame;
    if (f.functionName === '(idle)') continue;
    busyUs += us;
    const k = keyOf(f);
    self.set(k, { frame: f, us: (self.get(k)?.us ?? 0) + us });
    const c = componentOf(f);
    components.set(c, (components.get(c) ?? 0) + us);
    // Inclusive time of Latchkey functions: charge every distinct one on the stack once.
    const seen = new Set<string>();
    const hit = probes.map(() => false);
    for (let n: ProfileNode | undefined = node; n; n = byId.get(parent.get(n.id) ?? -1)) {
      const label = `${n.callFrame.functionName}@${n.callFrame.url}`;
      for (let i = 0; i < probes.length; i++) if (!hit[i] && probes[i]!.frame.test(label)) hit[i] = true;
      if (!/\/packages\/(server|api)\/(src|dist)\//.test(n.callFrame.url)) continue;
      const kk = keyOf(n.callFrame);
      if (seen.has(kk)) continue;
      seen.add(kk);
      inclusive.set(kk, { frame: n.callFrame, us: (inclusive.get(kk)?.us ?? 0) + us });
    }
    for (let i = 0; i < hit.length; i++) if (hit[i]) probeUs[i]! += us;
  }
  const toHotspots = (m: Map<string, { frame: CallFrame; us: number }>) =>
    [...m.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map(({ frame, us }) => ({
        fn: frame.functionName || '(anonymous)',
        where: whereOf(frame),
        component: componentOf(frame),
        ms: us / 1000,
        share: busyUs ? us / busyUs : 0,
      }));
  return {
    busyMs: busyUs / 1000,
    windowMs: (Math.min(toUs, profile.endTime) - Math.max(fromUs, profile.startTime)) / 1000,
    self: toHotspots(self),
    inclusive: toHotspots(inclusive),
    components: [...components]
      .sort((a, b) => b[1] - a[1])
      .map(([component, us]) => ({ component, ms: us / 1000, share: busyUs ? us / busyUs : 0 })),
    probes: probes.map((p, i) => ({
      label: p.label,
      ms: probeUs[i]! / 1000,
      share: busyUs ? probeUs[i]! / busyUs : 0,
    })),
  };
}
