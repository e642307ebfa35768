import type { Readable } from 'node:stream';
import type { AuthContext } from '../../http/authenticate.js';
import type { ResolvedGrant } from '../grants/grants.service.js';
import type { SealedCredential } from '../secrets/secrets.service.js';

/** Outgoing request headers, lowercase names. */
export type HeaderMap = Record<string, string | string[]>;

/**
 * The door a call came in through (DESIGN §4): `/v1/forward`, `/v1/proxy` or `/gw/{grant_id}/…`;
 * `probe` is a managed secret's test call (`POST /v1/managed-secrets/{id}/test`), which has no grant.
 */
export type FrontDoor = 'forward' | 'proxy' | 'gateway' | 'probe';

/** Trace fields a caller attaches to a call (audit only). */
export interface TraceFields {
  runId?: string | null;
  threadId?: string | null;
  tool?: string | null;
  role?: string | null;
}

/** One call moving through the pipeline of DESIGN §4.1. */
export interface ProxyCall {
  readonly auth: AuthContext;
  readonly frontDoor: FrontDoor;
  method: string;
  url: URL;
  readonly grantId: string;
  headers: HeaderMap;
  readonly reason: string | null;
  readonly context: Record<string, string> | null;
  readonly trace: TraceFields;
  readonly startedAt: number;
  grant?: ResolvedGrant;
  /** Set when the grant was resolved from a user token: the user the call is made for (audit). */
  appUserId?: string | null;
  credential?: SealedCredential;
  /** Values to scrub if the upstream echoes them (set by the inject step). */
  redact?: string[];
  /**
   * The body to send, when the front door handed it to `prepare`: the inject step may replace a
   * stream with its bytes (an `aws_sigv4` signature over a body that had to be hashed).
   */
  body?: Buffer | Readable | null;
}
