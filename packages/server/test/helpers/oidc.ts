import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

/** An account the test IDP knows, with the claims `findAccount` returns. */
export interface TestAccount {
  email: string;
  groups: string[];
}

/** A signing key of the test IDP (private JWK, RS256). */
export type SigningJwk = Record<string, unknown> & { kid: string };

/** A real OpenID Provider (node-oidc-provider) on loopback, issuing ID tokens through real flows. */
export interface TestIdp {
  /** The issuer URL (`http://127.0.0.1:<port>`). */
  readonly issuer: string;
  /** `host:port`, for `LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS`. */
  readonly hostPort: string;
  /** The main client's id: the `aud` of its ID tokens. */
  readonly clientId: string;
  /** A second registered client: its ID tokens carry another audience. */
  readonly otherClientId: string;
  /** The signing keys currently published (the first one signs). */
  keys(): SigningJwk[];
  /** How many times the JWKS endpoint was fetched. */
  jwksFetches(): number;
  /**
   * Signs `accountId` in through authorization code + PKCE (S256), driving the dev interactions
   * (login form, consent form) with plain HTTP requests, and redeems the code at the token
   * endpoint. Returns the ID token.
   *
   * @param opts `clientId` (default the main client); `clockShiftMs` runs the whole flow with the
   *   provider's clock shifted (e.g. `-2 h` gives a token that expired an hour ago).
   */
  signIn(accountId: string, opts?: { clientId?: string; clockShiftMs?: number }): Promise<string>;
  /**
   * Rotates the signing key: a new key signs from now on. With `retireOld`, the previous keys are
   * removed from the JWKS; otherwise they stay published for verification.
   */
  rotateKey(opts?: { retireOld?: boolean }): Promise<void>;
  close(): Promise<void>;
}

const REDIRECT_URI = 'http://127.0.0.1/callback';
const CLIENT_SECRET = 'test-client-secret-0123456789abcdef';

/** A fresh RS256 signing key as a private JWK. */
export async function newSigningKey(): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: `k-${randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' };
}

/**
 * Starts node-oidc-provider on 127.0.0.1 with two clients, the `openid email groups` scopes, an
 * account store whose claims include a `groups` array, dev interactions and PKCE.
 *
 * @param accounts account id → claims.
 * @param opts `keys` to share signing keys with another provider (a different issuer with the same
 *   keys); default one fresh RS256 key.
 */
export async function startOidcProvider(
  accounts: Record<string, TestAccount>,
  opts: { keys?: SigningJwk[] } = {},
): Promise<TestIdp> {
  let keys: SigningJwk[] = opts.keys ?? [await newSigningKey()];
  let fetches = 0;
  let handler: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | undefined;
  const server = http.createServer((req, res) => {
    if (req.url === '/jwks') fetches += 1;
    handler!(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = 'latchkey-test-app';
  const otherClientId = 'some-other-app';

  const build = () => {
    const provider = new Provider(issuer, {
      clients: [clientId, otherClientId].map((id) => ({
        client_id: id,
        client_secret: CLIENT_SECRET,
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'RS256',
      })),
      jwks: { keys },
      findAccount: (_ctx, id) => {
        const a = accounts[id];
        if (!a) return undefined;
        return { accountId: id, claims: () => ({ sub: id, email: a.email, groups: a.groups }) };
      },
      claims: { openid: ['sub'], email: ['email'], groups: ['groups'] },
      scopes: ['openid', 'email', 'groups'],
      // Scope-requested claims go into the ID token too (not only to userinfo).
      conformIdTokenClaims: false,
      pkce: { required: () => true },
      cookies: { keys: [randomBytes(16).toString('hex')] },
      features: { devInteractions: { enabled: true } },
      ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, AuthorizationCode: 60, IdToken: 3600 },
    });
    handler = provider.callback();
  };
  build();

  async function signIn(accountId: string, o: { clientId?: string; clockShiftMs?: number } = {}): Promise<string> {
    const realNow = Date.now;
    if (o.clockShiftMs) Date.now = () => realNow() + o.clockShiftMs!;
    try {
      return await runFlow(issuer, accountId, o.clientId ?? clientId);
    } finally {
      Date.now = realNow;
    }
  }

  return {
    issuer,
    hostPort: `127.0.0.1:${port}`,
    clientId,
    otherClientId,
    keys: () => keys,
    jwksFetches: () => fetches,
    signIn,
    async rotateKey(o = {}) {
      const fresh = await newSigningKey();
      keys = o.retireOld ? [fresh] : [fresh, ...keys];
      // The provider's keystore is fixed at construction: a new instance takes over the same issuer.
      build();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A minimal cookie jar: every cookie the provider set, sent back on every request. */
class Jar {
  readonly #cookies = new Map<string, string>();
  take(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

async function runFlow(issuer: string, accountId: string, clientId: string): Promise<string> {
  const jar = new Jar();
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(8).toString('hex');
  const auth = new URL(`${issuer}/auth`);
  auth.search = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid email groups',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    nonce: randomBytes(8).toString('hex'),
  }).toString();

  const go = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(new URL(url, issuer), {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: jar.header() },
    });
    jar.take(res);
    return res;
  };
  const submit = (location: string, form: Record<string, string>) =>
    go(location, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });

  // /auth → /interaction/{uid} (login) → /auth/{uid} → /interaction/{uid} (consent) → /auth/{uid} → redirect_uri?code
  let res = await go(auth.href);
  for (let hop = 0; hop < 10; hop++) {
    const location = res.headers.get('location');
    if (!location) throw new Error(`the IDP flow stopped at HTTP ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
    if (location.startsWith(REDIRECT_URI)) {
      const cb = new URL(location);
      if (cb.searchParams.get('state') !== state) throw new Error('state mismatch');
      const code = cb.searchParams.get('code');
      if (!code) throw new Error(`no code: ${location}`);
      const token = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${clientId}:${CLIENT_SECRET}`).toString('base64')}`,
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: REDIRECT_URI,
          code_verifier: verifier,
        }).toString(),
      });
      const body = (await token.json()) as { id_token?: string; error?: string };
      if (!body.id_token) throw new Error(`token endpoint: ${JSON.stringify(body)}`);
      return body.id_token;
    }
    if (location.includes('/interaction/')) {
      const page = await go(location);
      const html = await page.text();
      const prompt = /name="prompt" value="(login|consent)"/.exec(html)?.[1];
      if (prompt === 'login') res = await submit(location, { prompt: 'login', login: accountId, password: 'x' });
      else if (prompt === 'consent') res = await submit(location, { prompt: 'consent' });
      else throw new Error(`unexpected interaction page: ${html.slice(0, 300)}`);
      continue;
    }
    res = await go(location);
  }
  throw new Error('the IDP flow did not finish');
}
