import type { Child } from '../lib/child.js';
import type { LoadRequest } from '../lib/load.js';

/** Names of the variants of the main comparison, in report order. */
export const VARIANT_NAMES = [
  'direct',
  'nginx',
  'bare',
  'lk-forward-bearer',
  'lk-forward-signed',
  'lk-proxy',
  'lk-gateway',
] as const;

/** A variant name. */
export type VariantName = (typeof VARIANT_NAMES)[number];

/** The upstream all variants call. */
export interface Upstream {
  readonly child: Child;
  readonly port: number;
  readonly origin: string;
}

/** A server under test, ready to be loaded. */
export interface Variant {
  readonly name: VariantName;
  /** One-line description for the report. */
  readonly description: string;
  /** Base URL autocannon connects to. */
  readonly origin: string;
  readonly request: LoadRequest;
  /** The processes whose CPU and peak RSS are charged to this variant. */
  serverPids(): number[];
  /** A single-process Node server's pid: its event loop (main thread) is also measured on its own. */
  readonly loopPid?: number;
  /** Child processes that must stay alive while the variant is measured. */
  readonly children: readonly Child[];
  stop(): Promise<void>;
}

/** A variant that could not be started, and why. */
export interface Unavailable {
  readonly name: VariantName;
  readonly reason: string;
  /** True when the variant should exist (its absence makes the run invalid). */
  readonly expected: boolean;
}
