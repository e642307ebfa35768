import type { AuthContext } from '../../http/authenticate.js';
import type { ResolvedGrant } from '../grants/grants.service.js';
import type { SealedCredential } from '../secrets/secrets.service.js';

/** Outgoing request headers, lowercase names. */
export type HeaderMap = Record<string, string | string[]>;

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
  readonly frontDoor: 'forward' | 'proxy';
  method: string;
  url: URL;
  readonly grantId: string;
  headers: HeaderMap;
  readonly reason: string | null;
  readonly context: Record<string, string> | null;
  readonly trace: TraceFields;
  readonly startedAt: number;
  grant?: ResolvedGrant;
  credential?: SealedCredential;
  /** Values to scrub if the upstream echoes them (set by the inject step). */
  redact?: string[];
}
