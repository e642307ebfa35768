import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { LatchkeyError } from '../../errors.js';
import type { AuthContext } from '../../http/authenticate.js';
import { redactUrl } from '../audit/audit.fns.js';
import type { AuditService } from '../audit/audit.service.js';
import type { GrantsService } from '../grants/grants.service.js';
import type { SecretsService } from '../secrets/secrets.service.js';
import type { HeaderMap, ProxyCall, TraceFields } from './proxy.types.js';
import { checkCaller } from './steps/check-caller.js';
import { checkEgressBinding } from './steps/evaluate-policy.js';
import { forwardUpstream, type UpstreamControl, type UpstreamSink } from './steps/forward.js';
import { injectCredential } from './steps/inject.js';
import { loadCredential } from './steps/load-credential.js';
import { resolveGrant } from './steps/resolve-grant.js';

/** What a front door hands the pipeline after authenticating (step 1) and templating (step 3). */
export interface ProxyInput {
  auth: AuthContext;
  frontDoor: 'forward' | 'proxy';
  method: string;
  url: URL;
  grantId: string;
  headers: HeaderMap;
  reason: string | null;
  context: Record<string, string> | null;
  trace: TraceFields;
}

/** The proxy pipeline of DESIGN §4.1 (steps 2, 4, 5, 7, 8, 9, 11); front doors do 1, 3 and 10. */
export interface ProxyService {
  /**
   * Steps 2–8: caller check, grant, egress binding, audit writability, credential, injection.
   * A refusal is audited (`proxy.request.denied`) before it is thrown.
   * @throws LatchkeyError (`insufficient_scope`, `grant_*`, `policy_violation`, `audit_unavailable`, …)
   */
  prepare(input: ProxyInput): Promise<ProxyCall>;
  /** Step 9: forwards a prepared call. */
  forward(call: ProxyCall, body: Buffer | Readable | null, sink: UpstreamSink): UpstreamControl;
  /** Step 11: audits a finished call (sync mode: resolves after commit). @throws `audit_unavailable` */
  auditCompleted(call: ProxyCall, statusCode: number | null, errorCode: string | null): Promise<void>;
  /** Audits a refusal that happened before `prepare` (e.g. a bad template) for an authenticated caller. */
  auditDenied(input: Omit<ProxyInput, 'url' | 'headers'> & { url: URL | null }, err: LatchkeyError): Promise<void>;
}

/**
 * Creates the proxy service.
 *
 * @param deps services it uses through their public functions, the egress `dispatcher`, and the
 *   hosts allowed over plain http.
 */
export function createProxyService(deps: {
  grants: Pick<GrantsService, 'resolve'>;
  secrets: Pick<SecretsService, 'getCredential' | 'openCredential'>;
  audit: Pick<AuditService, 'record' | 'assertWritable'>;
  dispatcher: Dispatcher;
  httpHosts: readonly string[];
  now?: () => Date;
}): ProxyService {
  const { grants, secrets, audit, dispatcher, httpHosts } = deps;
  const now = deps.now ?? (() => new Date());

  function baseAudit(i: {
    auth: AuthContext;
    method: string;
    url: URL | null;
    grantId: string;
    reason: string | null;
    context: Record<string, string> | null;
    trace: TraceFields;
  }) {
    return {
      appId: i.auth.appId,
      actor: { keyPrefix: i.auth.keyPrefix, caller: i.auth.caller },
      grantId: i.grantId,
      method: i.method,
      url: i.url ? redactUrl(i.url) : null,
      reason: i.reason,
      context: i.context,
      trace: i.trace,
    };
  }

  async function auditDenied(
    input: Omit<ProxyInput, 'url' | 'headers'> & { url: URL | null },
    err: LatchkeyError,
    call?: ProxyCall,
  ) {
    await audit.record({
      ...baseAudit(input),
      event: 'proxy.request.denied',
      outcome: 'denied',
      errorCode: err.code,
      grantKind: call?.grant?.kind ?? null,
      managedSecretId: call?.grant?.managedSecretId ?? null,
      providerId: call?.grant?.providerId ?? null,
      principalType: call?.grant?.principalType ?? null,
      latencyMs: call ? Date.now() - call.startedAt : null,
    });
  }

  return {
    async prepare(input) {
      const call: ProxyCall = { ...input, startedAt: Date.now() };
      try {
        checkCaller(input.auth);
        call.grant = await resolveGrant(grants, input.auth, input.grantId, now().toISOString());
        const cred = await loadCredential(secrets, call.grant);
        checkEgressBinding(call.url, cred.allowedHosts, httpHosts);
        audit.assertWritable();
        call.credential = cred;
        call.redact = injectCredential(cred, secrets.openCredential(cred), call.headers, call.url);
        return call;
      } catch (err) {
        if (err instanceof LatchkeyError && err.code !== 'audit_unavailable') {
          await auditDenied(input, err, call);
        }
        throw err;
      }
    },
    forward(call, body, sink) {
      return forwardUpstream(dispatcher, { method: call.method, url: call.url, headers: call.headers, body }, sink);
    },
    async auditCompleted(call, statusCode, errorCode) {
      await audit.record({
        ...baseAudit(call),
        // A connect-time egress refusal is a denial, like a binding refusal.
        event: errorCode === 'egress_denied' ? 'proxy.request.denied' : 'proxy.request.completed',
        outcome: errorCode === 'egress_denied' ? 'denied' : errorCode ? 'error' : 'success',
        statusCode,
        errorCode,
        latencyMs: Date.now() - call.startedAt,
        grantKind: call.grant?.kind ?? null,
        managedSecretId: call.grant?.managedSecretId ?? null,
        providerId: call.grant?.providerId ?? null,
        principalType: call.grant?.principalType ?? null,
      });
    },
    auditDenied: (input, err) => auditDenied(input, err),
  };
}
