import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { LatchkeyError } from '../../errors.js';
import { isoNow } from '../../iso-time.js';
import { isPromise, type MaybePromise } from '../../maybe-promise.js';
import type { AuthContext } from '../../http/authenticate.js';
import { redactUrl } from '../audit/audit.fns.js';
import type { AuditService } from '../audit/audit.service.js';
import type { AuditInput } from '../audit/audit.types.js';
import type { DelegationsService } from '../delegations/delegations.service.js';
import type { GrantsService } from '../grants/grants.service.js';
import type { IdentityService } from '../identity/identity.service.js';
import type { SealedCredential, SecretsService } from '../secrets/secrets.service.js';
import type { FrontDoor, HeaderMap, ProxyCall, TraceFields } from './proxy.types.js';
import { checkCaller } from './steps/check-caller.js';
import { checkEgressBinding } from './steps/evaluate-policy.js';
import { forwardUpstream, type UpstreamControl, type UpstreamSink } from './steps/forward.js';
import { gatewayTarget } from './steps/gateway-url.js';
import { injectCredential } from './steps/inject.js';
import { planSigV4 } from './steps/sign-sigv4.js';
import { loadCredential } from './steps/load-credential.js';
import { resolveGrant, resolveGrantForUser, type GrantSelector } from './steps/resolve-grant.js';

/** What a front door hands the pipeline after authenticating (step 1) and templating (step 3). */
export interface ProxyInput {
  auth: AuthContext;
  frontDoor: FrontDoor;
  method: string;
  /** The target; `null` for the gateway door, whose target is only known once the credential is loaded. */
  url: URL | null;
  /**
   * Gateway door only: the path (checked by `checkGatewayPath`) and raw query under the credential's
   * base URL; joined into `url` after step 7.
   */
  gateway?: { path: string; search: string };
  /** The grant id; `''` when the call names its grant with `byProvider`. */
  grantId: string;
  /** Instead of a grant id: the provider and the user's ID token (step 4 finds the user's grant). */
  byProvider?: GrantSelector | undefined;
  headers: HeaderMap;
  /**
   * The request body (bytes, the raw stream, or null). A signing credential (`aws_sigv4`) hashes it,
   * so a door that can carry one passes it here; `forward` then sends `call.body`. Absent: no body.
   */
  body?: Buffer | Readable | null;
  reason: string | null;
  context: Record<string, string> | null;
  trace: TraceFields;
}

/** A test call built by the providers module from a template's `test_endpoint`. */
export interface ProbeRequest {
  method: string;
  url: URL;
  /** Static non-credential headers, lowercase names. */
  headers: HeaderMap;
}

/** What a probe saw: the status (null when no response arrived) and the start of the body. */
export interface ProbeResult {
  statusCode: number | null;
  /** Why no response arrived: `policy_violation`, `egress_denied`, `upstream_unreachable`, … */
  errorCode: string | null;
  /** The first 64 KiB of the response body, for the caller service to inspect; never returned to a client. */
  body: Buffer | null;
}

const PROBE_BODY_LIMIT = 64 * 1024;

/** The proxy pipeline of DESIGN §4.1 (steps 2, 4, 5, 7, 8, 9, 11); front doors do 1, 3 and 10. */
export interface ProxyService {
  /**
   * Steps 2–8: caller check, grant, egress binding, audit writability, credential, injection.
   * For the gateway door (`url: null`), the target is the credential's base URL joined with
   * `input.gateway` once the credential is loaded, and the egress binding then applies to it.
   * A refusal is audited (`proxy.request.denied`) before it is thrown.
   * @throws LatchkeyError (`insufficient_scope`, `grant_*`, `policy_violation`, `audit_unavailable`, …)
   */
  prepare(input: ProxyInput): Promise<ProxyCall>;
  /** Step 9: forwards a prepared call (its `call.body` when `prepare` was given one, else `body`). */
  forward(call: ProxyCall, body: Buffer | Readable | null, sink: UpstreamSink): UpstreamControl;
  /** Step 11: audits a finished call (sync mode: resolves after commit). @throws `audit_unavailable` */
  auditCompleted(call: ProxyCall, statusCode: number | null, errorCode: string | null): Promise<void>;
  /**
   * Calls a managed secret's test endpoint with the secret injected and no grant (the operator's
   * test action): the steps of `prepare` after the grant (egress binding, audit writability,
   * injection), then `forward` and `auditCompleted`, audited with `front_door: probe`. The upstream
   * body is read up to 64 KiB for the caller service to inspect; it never reaches a client.
   * A refusal or transport failure is a result (`errorCode`), not an exception.
   * @throws LatchkeyError `managed_secret_not_found`, `audit_unavailable`.
   */
  probeSecret(auth: AuthContext, secretId: string, request: ProbeRequest): Promise<ProbeResult>;
  /** Audits a refusal that happened before `prepare` (e.g. a bad template) for an authenticated caller. */
  auditDenied(input: Omit<ProxyInput, 'url' | 'headers'> & { url: URL | null }, err: LatchkeyError): Promise<void>;
}

/**
 * Creates the proxy service.
 *
 * @param deps services it uses through their public functions, the egress `dispatcher`, the
 *   hosts allowed over plain http, and `maxBodyBytes` (bound for a body read to be signed).
 */
export function createProxyService(deps: {
  grants: Pick<GrantsService, 'resolve' | 'findForUser'>;
  /** Agents reach user grants only through a live delegation. */
  delegations?: Pick<DelegationsService, 'isDelegated'>;
  /** Verifies user tokens for calls naming `provider` + the user's ID token. */
  identity?: Pick<IdentityService, 'verifyUserToken'>;
  secrets: Pick<SecretsService, 'getCredential' | 'openCredential'>;
  audit: Pick<AuditService, 'record' | 'assertWritable'>;
  dispatcher: Dispatcher;
  httpHosts: readonly string[];
  maxBodyBytes: number;
  now?: () => Date;
}): ProxyService {
  const { grants, secrets, audit, dispatcher, httpHosts } = deps;
  const now = deps.now ?? (() => new Date());
  // The clock as ISO text for the grant's expiry check: cached formatting unless a clock is injected.
  const nowIso = deps.now ? () => deps.now!().toISOString() : isoNow;

  /**
   * The audit input of a proxied call (one object literal of fixed shape: this runs on every call).
   * `call` carries what is known so far; a refusal before the grant leaves those fields null.
   */
  function proxyAudit(
    i: {
      auth: AuthContext;
      frontDoor: FrontDoor;
      method: string;
      url: URL | null;
      grantId: string;
      reason: string | null;
      context: Record<string, string> | null;
      trace: TraceFields;
    },
    call: Pick<ProxyCall, 'grant' | 'startedAt' | 'credential' | 'appUserId'> | undefined,
    event: AuditInput['event'],
    outcome: AuditInput['outcome'],
    statusCode: number | null,
    errorCode: string | null,
  ): AuditInput {
    const grant = call?.grant;
    const auth = i.auth;
    return {
      event,
      appId: auth.appId,
      outcome,
      actor: { keyPrefix: auth.keyPrefix, caller: auth.caller, agentId: auth.agentId },
      principalType: grant?.principalType ?? null,
      appUserId: call?.appUserId ?? grant?.appUserId ?? null,
      grantId: grant?.id ?? (i.grantId || null),
      grantKind: grant?.kind ?? null,
      managedSecretId: grant?.managedSecretId ?? call?.credential?.secretId ?? null,
      providerId: grant?.providerId ?? null,
      method: i.method,
      url: i.url ? redactUrl(i.url) : null,
      statusCode,
      latencyMs: call ? Date.now() - call.startedAt : null,
      errorCode,
      reason: i.reason,
      context: i.context,
      trace: i.trace,
      details: { front_door: i.frontDoor },
    };
  }

  async function auditDenied(
    input: Omit<ProxyInput, 'url' | 'headers'> & { url: URL | null },
    err: LatchkeyError,
    call?: Pick<ProxyCall, 'grant' | 'startedAt' | 'credential' | 'appUserId'>,
  ) {
    await audit.record(proxyAudit(input, call, 'proxy.request.denied', 'denied', null, err.code));
  }

  /**
   * Steps 5, 7 (audit writability) and 8 for a call whose credential is loaded; shared by `prepare`
   * and `probeSecret`. Synchronous except for `aws_sigv4`, whose signing plan may read the body.
   */
  function bindAndInject(call: ProxyCall, cred: SealedCredential): MaybePromise<void> {
    checkEgressBinding(call.url, cred.allowedHosts, httpHosts);
    audit.assertWritable();
    call.credential = cred;
    if (cred.type === 'aws_sigv4') return signWithSigV4(call, cred);
    // Only `aws_sigv4` (above) signs asynchronously; every other type injects synchronously.
    call.redact = injectCredential(cred, secrets.openCredential(cred), call.headers, call.url) as string[];
  }

  async function signWithSigV4(call: ProxyCall, cred: SealedCredential): Promise<void> {
    // Scope and payload hash (which may read a streamed body) before the secret is opened.
    const sigv4 = await planSigV4(cred.injection, { ...call }, deps.maxBodyBytes, now());
    call.body = sigv4.body;
    call.redact = await injectCredential(cred, secrets.openCredential(cred), call.headers, call.url, sigv4);
  }

  return {
    async prepare(input) {
      // Every field of the call is set here, so it keeps one shape through the pipeline.
      const call: Omit<ProxyCall, 'url'> & { url: URL | null } = {
        auth: input.auth,
        frontDoor: input.frontDoor,
        method: input.method,
        url: input.url,
        grantId: input.grantId,
        headers: input.headers,
        reason: input.reason,
        context: input.context,
        trace: input.trace,
        startedAt: Date.now(),
        grant: undefined,
        appUserId: undefined,
        credential: undefined,
        redact: undefined,
        body: input.body,
      };
      try {
        checkCaller(input.auth);
        const steps = { grants, delegations: deps.delegations, identity: deps.identity };
        if (input.byProvider) {
          const found = await resolveGrantForUser(steps, input.auth, input.byProvider, nowIso(), (id) => {
            call.appUserId = id;
          });
          call.grant = found.grant;
        } else {
          // A cached grant and credential come back as plain values: no await on the hot path.
          const found = resolveGrant(steps, input.auth, input.grantId, nowIso());
          call.grant = isPromise(found) ? await found : found;
        }
        const loaded = loadCredential(secrets, call.grant);
        const cred = isPromise(loaded) ? await loaded : loaded;
        call.url ??= gatewayTarget(cred.baseUrl, input.gateway);
        const injected = bindAndInject(call as ProxyCall, cred);
        if (isPromise(injected)) await injected;
        return call as ProxyCall;
      } catch (err) {
        if (err instanceof LatchkeyError && err.code !== 'audit_unavailable') {
          await auditDenied({ ...input, url: call.url }, err, call);
        }
        throw err;
      }
    },
    forward(call, body, sink) {
      const sent = call.body !== undefined ? call.body : body;
      return forwardUpstream(
        dispatcher,
        { method: call.method, url: call.url, headers: call.headers, body: sent },
        sink,
      );
    },
    async auditCompleted(call, statusCode, errorCode) {
      // A connect-time egress refusal is a denial, like a binding refusal.
      const denied = errorCode === 'egress_denied';
      await audit.record(
        proxyAudit(
          call,
          call,
          denied ? 'proxy.request.denied' : 'proxy.request.completed',
          denied ? 'denied' : errorCode ? 'error' : 'success',
          statusCode,
          errorCode,
        ),
      );
    },
    async probeSecret(auth, secretId, request) {
      const call: ProxyCall = {
        auth,
        frontDoor: 'probe',
        method: request.method,
        url: request.url,
        grantId: '',
        headers: { ...request.headers },
        reason: null,
        context: null,
        trace: {},
        startedAt: Date.now(),
      };
      const cred = await secrets.getCredential(auth.appId, secretId);
      if (!cred) throw new LatchkeyError('managed_secret_not_found');
      call.credential = cred;
      try {
        await bindAndInject(call, cred);
      } catch (err) {
        if (!(err instanceof LatchkeyError) || err.code === 'audit_unavailable') throw err;
        await auditDenied(call, err, call);
        return { statusCode: null, errorCode: err.code, body: null };
      }
      const seen = await new Promise<ProbeResult>((resolve) => {
        let statusCode = 0;
        let size = 0;
        const chunks: Buffer[] = [];
        this.forward(call, null, {
          start(status) {
            statusCode = status;
          },
          data(chunk) {
            if (size < PROBE_BODY_LIMIT) chunks.push(chunk.subarray(0, PROBE_BODY_LIMIT - size));
            size += chunk.length;
            return true;
          },
          end() {
            resolve({ statusCode, errorCode: null, body: Buffer.concat(chunks) });
          },
          error(err, afterStart) {
            resolve(
              afterStart
                ? { statusCode, errorCode: null, body: null }
                : { statusCode: null, errorCode: err.code, body: null },
            );
          },
        });
      });
      await this.auditCompleted(call, seen.statusCode, seen.errorCode);
      return seen;
    },
    auditDenied: (input, err) => auditDenied(input, err),
  };
}
