/**
 * Latchkey variants: `/v1/forward` (bearer key, RFC 9421 signed), `POST /v1/proxy`, and the gateway
 * `/gw/{grant_id}/…`. Each runs its own `latchkey serve` process (SQLite, synchronous audit).
 */
import { DEFAULT_SIGNATURE_TTL_SECONDS } from '@latchkey/api';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { signRequest } from '../../packages/server/src/crypto/request-signature.js';
import type { LoadRequest } from '../lib/load.js';
import {
  REPO_ROOT,
  createBenchGrant,
  signingIdentity,
  startLatchkey,
  type LatchkeyOptions,
  type LatchkeyServer,
} from '../lib/latchkey.js';
import { UPSTREAM_PATH } from './baselines.js';
import type { Unavailable, Upstream, Variant, VariantName } from './types.js';

/** The gateway is expected once its routes exist in the server source. */
export const GATEWAY_EXPECTED = existsSync(
  path.join(REPO_ROOT, 'packages', 'server', 'src', 'modules', 'proxy', 'gateway.routes.ts'),
);

/**
 * The `/v1/forward` request with a bearer app key. `grantId` is fixed, or picked per request
 * (the scale benchmark spreads lookups over every stored grant).
 */
export function forwardBearerRequest(appKey: string, up: Upstream, grantId: string | (() => string)): LoadRequest {
  const headers = { authorization: `Bearer ${appKey}`, 'latchkey-target': `${up.origin}${UPSTREAM_PATH}` };
  if (typeof grantId === 'string') {
    return { method: 'GET', path: '/v1/forward', headers: { ...headers, 'latchkey-grant-id': grantId } };
  }
  return { method: 'GET', path: '/v1/forward', headers, setup: () => ({ 'latchkey-grant-id': grantId() }) };
}

/** Seconds a signed bench request stays valid once made: the SDK's default signature TTL. */
export const SIGNED_REQUEST_VALID_S = DEFAULT_SIGNATURE_TTL_SECONDS;

/** The `/v1/forward` request signed SDK-style: a fresh RFC 9421 signature (new nonce) per request. */
function forwardSignedRequest(lk: LatchkeyServer, up: Upstream, grantId: string): LoadRequest {
  const { keyId, signingKey } = signingIdentity(lk.init!.appKey);
  const url = `${lk.origin}/v1/forward`;
  const headers = { 'latchkey-target': `${up.origin}${UPSTREAM_PATH}`, 'latchkey-grant-id': grantId };
  return {
    method: 'GET',
    path: '/v1/forward',
    headers,
    // The signature covers every latchkey-* header sent (the server refuses uncovered ones).
    setup: () => signRequest({ method: 'GET', url, headers, keyId, signingKey }),
    validForS: SIGNED_REQUEST_VALID_S,
  };
}

const DESCRIPTIONS: Record<string, string> = {
  'lk-forward-bearer': 'Latchkey `GET /v1/forward`, bearer app key, sync audit',
  'lk-forward-signed': 'Latchkey `GET /v1/forward`, RFC 9421 signature per request (SDK-style), sync audit',
  'lk-proxy': 'Latchkey `POST /v1/proxy` (JSON envelope), bearer app key, sync audit',
  'lk-gateway': 'Latchkey `GET /gw/{grant_id}/…` (gateway), bearer app key, sync audit',
};

/**
 * Starts one Latchkey process for `name`, stores the bench secret and grant, and probes the route.
 *
 * @returns the variant, or `Unavailable` when the gateway is not there (yet).
 */
export async function latchkeyVariant(
  name: Exclude<VariantName, 'direct' | 'nginx' | 'bare'>,
  up: Upstream,
  opts: Partial<LatchkeyOptions> = {},
): Promise<Variant | Unavailable> {
  const lk = await startLatchkey({ name, ...opts });
  const stop = async () => {
    await lk.child.stop();
    rmSync(lk.dataDir, { recursive: true, force: true });
  };
  try {
    const { grantId, hasBaseUrl } = await createBenchGrant(lk, up.port);
    const appKey = lk.init!.appKey;
    const auth = { authorization: `Bearer ${appKey}` };
    let request: LoadRequest;
    if (name === 'lk-forward-bearer') request = forwardBearerRequest(appKey, up, grantId);
    else if (name === 'lk-forward-signed') request = forwardSignedRequest(lk, up, grantId);
    else if (name === 'lk-proxy') {
      request = {
        method: 'POST',
        path: '/v1/proxy',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ method: 'GET', url: `${up.origin}${UPSTREAM_PATH}`, grant_id: grantId }),
      };
    } else {
      request = { method: 'GET', path: `/gw/${grantId}${UPSTREAM_PATH}`, headers: auth };
      const probe = await fetch(`${lk.origin}${request.path}`, { headers: auth });
      const text = await probe.text();
      if (probe.status !== 200 || !hasBaseUrl) {
        await stop();
        const why = hasBaseUrl ? `probe answered ${probe.status} ${text.slice(0, 160)}` : 'base_url refused';
        return { name, reason: `gateway not available (${why})`, expected: GATEWAY_EXPECTED };
      }
    }
    // One request before the load: a variant the server refuses fails here, by name, not as a run of errors.
    const probe = await fetch(`${lk.origin}${request.path}`, {
      method: request.method,
      headers: { ...request.headers, ...request.setup?.() },
      body: request.body,
    });
    if (probe.status !== 200) {
      throw new Error(`${name}: probe answered ${probe.status} ${(await probe.text()).slice(0, 200)}`);
    }
    await probe.arrayBuffer().catch(() => undefined);
    return {
      name,
      description: DESCRIPTIONS[name] ?? name,
      origin: lk.origin,
      request,
      serverPids: () => [lk.child.pid],
      loopPid: lk.child.pid,
      children: [lk.child],
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
