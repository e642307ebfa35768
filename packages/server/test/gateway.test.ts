/**
 * Gateway mode (DESIGN §4, issue 6): `ANY /gw/{grant_id}/{path…}` driven by the OFFICIAL, unmodified
 * `openai`, `@anthropic-ai/sdk` and `stripe` npm packages, whose only change is their base URL and
 * API key (a Latchkey key). The upstreams are local node:http servers on 127.0.0.2 that speak those
 * APIs' shapes (JSON and server-sent events), refuse requests without the real credential, and
 * record every header they receive so we can check that no Latchkey key ever reaches them.
 */
import http from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { api } from './helpers/api.js';
import { startServer, type TestServer } from './helpers/server.js';
import { signedHeaders } from './helpers/signed.js';
import { startUpstream, type SeenRequest, type Upstream } from './helpers/upstream.js';

const OPENAI_KEY = 'sk-proj-REAL-openai-9f8e7d6c5b4a';
const ANTHROPIC_KEY = 'sk-ant-REAL-anthropic-1a2b3c4d5e';
const STRIPE_KEY = 'sk_test_REAL_stripe_0f1e2d3c4b5a';
const STREAM_WORDS = ['Hello', ',', ' gateway', ' world', '!'];

let s: TestServer;
let openaiUp: Upstream;
let anthropicUp: Upstream;
let stripeUp: Upstream;
const grants: Record<string, string> = {};
const secrets: Record<string, string> = {};
/** When the fake OpenAI server finished writing its last streamed chunk. */
let streamFinishedAt = 0;

// ---------------------------------------------------------------------------------------------
// Fake providers (plain node:http through the shared upstream helper)
// ---------------------------------------------------------------------------------------------

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sse(res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fakeOpenAI(req: SeenRequest, res: http.ServerResponse): void {
  if (req.headers['authorization'] !== `Bearer ${OPENAI_KEY}`) {
    json(res, 401, {
      error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' },
    });
    return;
  }
  const url = new URL(req.url, 'http://x');
  if (req.method === 'GET' && url.pathname === '/v1/models') {
    json(res, 200, {
      object: 'list',
      data: [{ id: 'gpt-test', object: 'model', created: 1, owned_by: 'me' }],
      query: url.search,
    });
    return;
  }
  if (req.method === 'POST' && url.pathname === '/v1/chat/completions') {
    const body = JSON.parse(req.body.toString('utf8')) as { model: string; stream?: boolean; messages: unknown[] };
    const base = { id: 'chatcmpl-1', created: 1_700_000_000, model: body.model, system_fingerprint: null };
    if (!body.stream) {
      json(res, 200, {
        ...base,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: 'pong', refusal: null },
            finish_reason: 'stop',
            logprobs: null,
          },
        ],
        usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
      });
      return;
    }
    sse(res);
    void (async () => {
      const chunk = (delta: object, finish: string | null) =>
        `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] })}\n\n`;
      res.write(chunk({ role: 'assistant', content: '' }, null));
      for (const w of STREAM_WORDS) {
        await sleep(40);
        res.write(chunk({ content: w }, null));
      }
      await sleep(40);
      res.write(chunk({}, 'stop'));
      res.write('data: [DONE]\n\n');
      streamFinishedAt = Date.now();
      res.end();
    })();
    return;
  }
  json(res, 404, { error: { message: 'Unknown route', type: 'invalid_request_error' } });
}

function fakeAnthropic(req: SeenRequest, res: http.ServerResponse): void {
  if (req.headers['x-api-key'] !== ANTHROPIC_KEY) {
    json(res, 401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
    return;
  }
  if (!req.headers['anthropic-version']) {
    json(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version required' } });
    return;
  }
  if (req.method !== 'POST' || req.url !== '/v1/messages') {
    json(res, 404, { type: 'error', error: { type: 'not_found_error', message: 'Not found' } });
    return;
  }
  const body = JSON.parse(req.body.toString('utf8')) as { model: string; stream?: boolean };
  const message = {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: body.model,
    content: [] as unknown[],
    stop_reason: null as string | null,
    stop_sequence: null,
    usage: { input_tokens: 5, output_tokens: 0 },
  };
  if (!body.stream) {
    json(res, 200, {
      ...message,
      content: [{ type: 'text', text: 'Bonjour' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 5, output_tokens: 1 },
    });
    return;
  }
  sse(res);
  void (async () => {
    const ev = (type: string, data: object) =>
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    ev('message_start', { message });
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    for (const t of ['Bon', 'jour', ' !']) {
      await sleep(20);
      ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: t } });
    }
    ev('content_block_stop', { index: 0 });
    ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 3 } });
    ev('message_stop', {});
    res.end();
  })();
}

function fakeStripe(req: SeenRequest, res: http.ServerResponse): void {
  if (req.headers['authorization'] !== `Bearer ${STRIPE_KEY}`) {
    json(res, 401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
    return;
  }
  if (req.method === 'GET' && req.url === '/v1/balance') {
    json(res, 200, {
      object: 'balance',
      available: [{ amount: 4200, currency: 'usd', source_types: { card: 4200 } }],
      pending: [],
      livemode: false,
    });
    return;
  }
  if (req.method === 'POST' && req.url === '/v1/customers') {
    if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
      json(res, 400, { error: { type: 'invalid_request_error', message: 'form body expected' } });
      return;
    }
    const form = new URLSearchParams(req.body.toString('utf8'));
    json(res, 200, {
      id: 'cus_123',
      object: 'customer',
      email: form.get('email'),
      name: form.get('name'),
      metadata: { plan: form.get('metadata[plan]') },
      livemode: false,
    });
    return;
  }
  json(res, 404, { error: { type: 'invalid_request_error', message: 'Unrecognized request URL' } });
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** Every Latchkey key this suite minted; none may ever reach an upstream. */
const latchkeyKeys: string[] = [];

function expectNoLatchkeyKey(up: Upstream): void {
  expect(up.seen.length).toBeGreaterThan(0);
  for (const r of up.seen) {
    for (const [name, value] of Object.entries(r.headers)) {
      const v = Array.isArray(value) ? value.join('\n') : String(value);
      expect(name.startsWith('latchkey-'), name).toBe(false);
      expect(v, name).not.toMatch(/lk_(app|agent)_/);
      for (const k of latchkeyKeys) {
        expect(v, name).not.toContain(k);
        expect(v, name).not.toContain(Buffer.from(`${k}:`).toString('base64'));
      }
    }
    expect(r.url).not.toMatch(/lk_(app|agent)_/);
    expect(r.body.toString('latin1')).not.toMatch(/lk_(app|agent)_/);
  }
}

async function createSecret(body: Record<string, unknown>): Promise<string> {
  const r = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets', body);
  expect(r.status, r.text).toBe(201);
  return r.body.id as string;
}

async function issueGrant(secretId: string): Promise<string> {
  const g = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secretId}/grants`, {
    principal: { type: 'system', label: 'gateway' },
  });
  expect(g.status, g.text).toBe(201);
  return g.body.grant_id as string;
}

async function mintKey(body: Record<string, unknown>): Promise<string> {
  const m = await api(s.baseUrl, s.appKey, 'POST', '/v1/keys', body);
  expect(m.status, m.text).toBe(201);
  latchkeyKeys.push(m.body.api_key as string);
  return m.body.api_key as string;
}

function openai(grantId: string, apiKey = s.appKey): OpenAI {
  // The template's base URL is `https://api.openai.com/v1`, the SDK's default base URL: the gateway
  // root of the grant replaces it one for one.
  return new OpenAI({ apiKey, baseURL: `${s.baseUrl}/gw/${grantId}`, maxRetries: 0 });
}

/** A raw HTTP request (no client-side URL normalization, unlike fetch). */
function rawRequest(
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const { hostname, port } = new URL(s.baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

async function auditEvents(query: string): Promise<Record<string, any>[]> {
  const r = await api(s.baseUrl, s.appKey, 'GET', `/v1/audit?limit=500&${query}`);
  expect(r.status, r.text).toBe(200);
  return r.body.events as Record<string, any>[];
}

beforeAll(async () => {
  [openaiUp, anthropicUp, stripeUp] = await Promise.all([
    startUpstream(fakeOpenAI),
    startUpstream(fakeAnthropic),
    startUpstream(fakeStripe),
  ]);
  s = await startServer({ LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: '127.0.0.2' });
  latchkeyKeys.push(s.appKey);
  // Catalog templates (injection from the template) with local hosts and a base URL of the same
  // shape as the template's own (`…/v1` for OpenAI, the bare origin for Anthropic and Stripe).
  secrets.openai = await createSecret({
    slug: 'openai',
    template_id: 'openai',
    value: OPENAI_KEY,
    allowed_hosts: [`127.0.0.2:${openaiUp.port}`],
    base_url: `${openaiUp.url}/v1`,
  });
  secrets.anthropic = await createSecret({
    slug: 'anthropic',
    template_id: 'anthropic',
    value: ANTHROPIC_KEY,
    allowed_hosts: [`127.0.0.2:${anthropicUp.port}`],
    base_url: anthropicUp.url,
  });
  secrets.stripe = await createSecret({
    slug: 'stripe',
    template_id: 'stripe',
    value: STRIPE_KEY,
    allowed_hosts: [`127.0.0.2:${stripeUp.port}`],
    base_url: `${stripeUp.url}/`,
  });
  for (const name of ['openai', 'anthropic', 'stripe']) grants[name] = await issueGrant(secrets[name]!);
});

afterAll(async () => {
  await s?.close();
  await Promise.all([openaiUp?.close(), anthropicUp?.close(), stripeUp?.close()]);
});

// ---------------------------------------------------------------------------------------------
// The fakes are real checks
// ---------------------------------------------------------------------------------------------

test('the fake providers refuse calls without the real credential', async () => {
  const direct = new OpenAI({ apiKey: s.appKey, baseURL: `${openaiUp.url}/v1`, maxRetries: 0 });
  await expect(direct.models.list()).rejects.toMatchObject({ status: 401 });
  expect(
    (await fetch(`${anthropicUp.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'nope' } })).status,
  ).toBe(401);
  expect((await fetch(`${stripeUp.url}/v1/balance`)).status).toBe(401);
  openaiUp.seen.length = 0;
  anthropicUp.seen.length = 0;
  stripeUp.seen.length = 0;
});

// ---------------------------------------------------------------------------------------------
// Official SDKs
// ---------------------------------------------------------------------------------------------

describe('openai SDK', () => {
  test('chat.completions.create reaches the provider with the real key only', async () => {
    const c = await openai(grants.openai!).chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'ping' }],
    });
    expect(c.choices[0]!.message.content).toBe('pong');
    const seen = openaiUp.seen.at(-1)!;
    expect(seen.url).toBe('/v1/chat/completions');
    expect(seen.headers['authorization']).toBe(`Bearer ${OPENAI_KEY}`);
    expect(JSON.parse(seen.body.toString('utf8'))).toMatchObject({ model: 'gpt-test' });
    expectNoLatchkeyKey(openaiUp);
  });

  test('a streamed chat completion yields every SSE chunk through the async iterator, as it is produced', async () => {
    const stream = await openai(grants.openai!).chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'stream please' }],
      stream: true,
    });
    const deltas: string[] = [];
    let firstContentAt = 0;
    let finish: string | null = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0]!;
      if (choice.delta.content) {
        firstContentAt ||= Date.now();
        deltas.push(choice.delta.content);
      }
      finish = choice.finish_reason ?? finish;
    }
    expect(deltas).toEqual(STREAM_WORDS);
    expect(finish).toBe('stop');
    // The first word reached the SDK before the provider had written its last chunk: streamed, not buffered.
    expect(firstContentAt).toBeGreaterThan(0);
    expect(firstContentAt).toBeLessThan(streamFinishedAt);
    expectNoLatchkeyKey(openaiUp);
  });

  test('models.list, and the query string passes through', async () => {
    const page = await openai(grants.openai!).models.list();
    expect(page.data.map((m) => m.id)).toEqual(['gpt-test']);
    const res = await fetch(`${s.baseUrl}/gw/${grants.openai}/models?limit=2&after=a%20b&x=%2F`, {
      headers: { authorization: `Bearer ${s.appKey}` },
    });
    expect(res.status).toBe(200);
    expect(openaiUp.seen.at(-1)!.url).toBe('/v1/models?limit=2&after=a%20b&x=%2F');
    expectNoLatchkeyKey(openaiUp);
  });

  test('an unknown grant makes the SDK raise 404 grant_not_found, marked as a Latchkey refusal', async () => {
    const before = openaiUp.seen.length;
    const err = (await openai('00000000-0000-4000-8000-000000000000')
      .models.list()
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.status).toBe(404);
    expect(err.code).toBe('grant_not_found');
    expect(err.headers?.get('latchkey-error')).toBe('1');
    expect(openaiUp.seen.length).toBe(before);
  });

  test("another app's key gets 404 grant_not_found for this app's grant", async () => {
    const other = await s.lk.services.apps.createApp('gateway-other');
    const { apiKey } = await s.lk.services.keys.mint(
      other.id,
      { scopes: ['*'], signed_only: false },
      { keyPrefix: null },
    );
    latchkeyKeys.push(apiKey);
    const err = (await openai(grants.openai!, apiKey)
      .models.list()
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe('grant_not_found');
    expect(err.headers?.get('latchkey-error')).toBe('1');
  });

  test('a revoked grant gets 403 grant_revoked', async () => {
    const g = await issueGrant(secrets.openai!);
    expect((await openai(g).models.list()).data).toHaveLength(1);
    expect((await api(s.baseUrl, s.appKey, 'POST', `/v1/grants/${g}/revoke`, { reason: 'test' })).status).toBe(200);
    const err = (await openai(g)
      .models.list()
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.code).toBe('grant_revoked');
    expect(err.headers?.get('latchkey-error')).toBe('1');
  });

  test('a wrong Latchkey key is refused with 401 by Latchkey, not by the provider', async () => {
    const before = openaiUp.seen.length;
    const err = (await openai(grants.openai!, `lk_app_${'x'.repeat(43)}`)
      .models.list()
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.code).toBe('unauthorized');
    expect(err.headers?.get('latchkey-error')).toBe('1');
    expect(openaiUp.seen.length).toBe(before);
  });
});

describe('@anthropic-ai/sdk', () => {
  const client = () =>
    new Anthropic({ apiKey: s.appKey, baseURL: `${s.baseUrl}/gw/${grants.anthropic}`, maxRetries: 0 });

  test('messages.create: the Latchkey key sent as x-api-key is swapped for the real one', async () => {
    const m = await client().messages.create({
      model: 'claude-test',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'Salut' }],
    });
    expect(m.content).toEqual([{ type: 'text', text: 'Bonjour' }]);
    const seen = anthropicUp.seen.at(-1)!;
    expect(seen.url).toBe('/v1/messages');
    expect(seen.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    expect(seen.headers['authorization']).toBeUndefined();
    expect(seen.headers['anthropic-version']).toBeTruthy();
    expectNoLatchkeyKey(anthropicUp);
  });

  test('a streamed message yields every event', async () => {
    const stream = await client().messages.create({
      model: 'claude-test',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'Salut' }],
      stream: true,
    });
    const types: string[] = [];
    let text = '';
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
    }
    expect(text).toBe('Bonjour !');
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expectNoLatchkeyKey(anthropicUp);
  });
});

describe('stripe SDK', () => {
  /**
   * stripe-node takes `host`, `port` and `protocol` but no path prefix: its `basePath` is not a
   * config option and every resource path is absolute (`/v1/balance`). The documented `httpClient`
   * option with `Stripe.createFetchHttpClient(fetchFn)` adds the `/gw/{grant_id}` prefix; the SDK
   * itself is unmodified.
   */
  const client = (apiKey = s.appKey) => {
    const { hostname, port } = new URL(s.baseUrl);
    const prefixed: typeof fetch = (input, init) => {
      const url = new URL(String(input));
      url.pathname = `/gw/${grants.stripe}${url.pathname}`;
      // fetch computes Content-Length itself; an explicit one trips the undici Agent that this
      // process (the in-process server) installed as global dispatcher under Node 20's fetch.
      const headers = new Headers(init?.headers);
      headers.delete('content-length');
      return fetch(url, { ...init, headers });
    };
    return new Stripe(apiKey, {
      host: hostname,
      port: Number(port),
      protocol: 'http',
      httpClient: Stripe.createFetchHttpClient(prefixed),
      maxNetworkRetries: 0,
      telemetry: false,
    });
  };

  test('balance.retrieve', async () => {
    const b = await client().balance.retrieve();
    expect(b.available[0]!.amount).toBe(4200);
    const seen = stripeUp.seen.at(-1)!;
    expect(seen.url).toBe('/v1/balance');
    expect(seen.headers['authorization']).toBe(`Bearer ${STRIPE_KEY}`);
    expectNoLatchkeyKey(stripeUp);
  });

  test('customers.create sends its form-encoded body through', async () => {
    const c = await client().customers.create({ email: 'ada@example.com', name: 'Ada', metadata: { plan: 'pro' } });
    expect(c).toMatchObject({ id: 'cus_123', email: 'ada@example.com', name: 'Ada', metadata: { plan: 'pro' } });
    const seen = stripeUp.seen.at(-1)!;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/v1/customers');
    expect(new URLSearchParams(seen.body.toString('utf8')).get('email')).toBe('ada@example.com');
    expectNoLatchkeyKey(stripeUp);
  });

  test('a Stripe-side refusal (upstream 4xx) comes back as the provider sent it, without latchkey-error', async () => {
    await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secrets.stripe}/rotate`, {
      value: 'sk_test_WRONG_000000',
    });
    try {
      const err = (await client()
        .balance.retrieve()
        .catch((e: unknown) => e)) as InstanceType<typeof Stripe.errors.StripeError>;
      expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
      expect(err.statusCode).toBe(401);
      expect(err.message).toBe('Invalid API Key provided');
      expect((err.headers as Record<string, string>)['latchkey-error']).toBeUndefined();
    } finally {
      await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secrets.stripe}/rotate`, { value: STRIPE_KEY });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Caller authentication
// ---------------------------------------------------------------------------------------------

describe('caller authentication', () => {
  const basic = (k: string) => `Basic ${Buffer.from(`${k}:`).toString('base64')}`;

  test('the key is found in every vendor header, and every one of those headers is removed', async () => {
    const forms: Record<string, string>[] = [
      { authorization: `Bearer ${s.appKey}` },
      { authorization: basic(s.appKey) },
      { authorization: `token ${s.appKey}` },
      { 'x-api-key': s.appKey },
      { 'api-key': s.appKey },
      { 'x-goog-api-key': s.appKey },
      // A stray real-looking key next to the Latchkey key is never forwarded either.
      { authorization: 'Bearer sk-proj-stray', 'x-goog-api-key': s.appKey, 'api-key': 'stray', 'x-api-key': 'stray' },
    ];
    for (const headers of forms) {
      const res = await fetch(`${s.baseUrl}/gw/${grants.openai}/models`, { headers });
      expect(res.status, JSON.stringify(Object.keys(headers))).toBe(200);
      const seen = openaiUp.seen.at(-1)!;
      expect(seen.headers['authorization']).toBe(`Bearer ${OPENAI_KEY}`);
      for (const h of ['x-api-key', 'api-key', 'x-goog-api-key']) expect(seen.headers[h], h).toBeUndefined();
    }
    expectNoLatchkeyKey(openaiUp);
  });

  test('no Latchkey key (or only a provider key) → 401 with latchkey-error, nothing forwarded', async () => {
    const before = openaiUp.seen.length;
    const forms: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${OPENAI_KEY}` },
      { 'x-api-key': 'lk_app_short' },
    ];
    for (const headers of forms) {
      const res = await fetch(`${s.baseUrl}/gw/${grants.openai}/models`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('latchkey-error')).toBe('1');
      expect((await res.json()).error.code).toBe('unauthorized');
    }
    expect(openaiUp.seen.length).toBe(before);
  });

  test('signed_only keys are refused unless the request is signed (RFC 9421)', async () => {
    const key = await mintKey({ name: 'signed', scopes: ['proxy:execute'], signed_only: true });
    const url = `${s.baseUrl}/gw/${grants.openai}/chat/completions`;
    const bearer = await fetch(url, { method: 'POST', headers: { 'x-api-key': key } });
    expect(bearer.status).toBe(401);
    expect(bearer.headers.get('latchkey-error')).toBe('1');
    expect((await bearer.json()).error.code).toBe('signed_request_required');

    const body = new TextEncoder().encode(JSON.stringify({ model: 'gpt-signed', messages: [] }));
    const headers = signedHeaders(key, 'POST', url, { 'content-type': 'application/json' }, body);
    const signed = await fetch(url, { method: 'POST', headers, body });
    expect(signed.status).toBe(200);
    expect(((await signed.json()) as { model: string }).model).toBe('gpt-signed');
    expect(openaiUp.seen.at(-1)!.headers['authorization']).toBe(`Bearer ${OPENAI_KEY}`);
    for (const h of ['signature', 'signature-input', 'content-digest'])
      expect(openaiUp.seen.at(-1)!.headers[h], h).toBeUndefined();
    expectNoLatchkeyKey(openaiUp);
  });

  test('a key without proxy:execute → 403 insufficient_scope', async () => {
    const key = await mintKey({ name: 'reader', scopes: ['grants:read'] });
    const res = await fetch(`${s.baseUrl}/gw/${grants.openai}/models`, { headers: { 'x-api-key': key } });
    expect(res.status).toBe(403);
    expect(res.headers.get('latchkey-error')).toBe('1');
    expect((await res.json()).error).toMatchObject({
      code: 'insufficient_scope',
      details: { required_scope: 'proxy:execute' },
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Paths and base URLs
// ---------------------------------------------------------------------------------------------

describe('paths and base URLs', () => {
  test('dot-segments in any spelling cannot escape the base path (400), and nothing is forwarded', async () => {
    const before = openaiUp.seen.length;
    const g = grants.openai!;
    for (const p of [
      `/gw/${g}/../admin`,
      `/gw/${g}/a/../../admin`,
      `/gw/${g}/%2e%2e/admin`,
      `/gw/${g}/%2E%2e/%2e%2E/admin`,
      `/gw/${g}/.%2e/admin`,
      `/gw/${g}/./models`,
      `/gw/${g}/..%2fadmin`,
      `/gw/${g}/..%5Cadmin`,
      `/gw/${g}/..;x=1/admin`,
      `/gw/${g}/a\\..\\..\\admin`,
    ]) {
      const res = await rawRequest(p, { authorization: `Bearer ${s.appKey}` });
      expect(res.status, p).toBe(400);
      expect(res.headers['latchkey-error'], p).toBe('1');
      expect(JSON.parse(res.body).error.code, p).toBe('invalid_request');
    }
    expect(openaiUp.seen.length).toBe(before);
  });

  test('long paths and upstream 404s pass through untouched (no latchkey-error)', async () => {
    const long = `/files/${'a'.repeat(600)}/${encodeURIComponent('ünï code')}`;
    const res = await fetch(`${s.baseUrl}/gw/${grants.openai}${long}`, {
      headers: { authorization: `Bearer ${s.appKey}` },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('latchkey-error')).toBeNull();
    expect((await res.json()).error.message).toBe('Unknown route');
    expect(openaiUp.seen.at(-1)!.url).toBe(`/v1${long}`);
  });

  test('a malformed grant id is grant_not_found; /gw alone is not_found', async () => {
    const res = await fetch(`${s.baseUrl}/gw/not-a-grant/models`, { headers: { authorization: `Bearer ${s.appKey}` } });
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('grant_not_found');
    const root = await fetch(`${s.baseUrl}/gw/`, { headers: { authorization: `Bearer ${s.appKey}` } });
    expect(root.status).toBe(404);
    expect(root.headers.get('latchkey-error')).toBe('1');
  });

  test('base_url must pass the egress binding, at create and at update', async () => {
    const bad = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets', {
      slug: 'bad-base',
      type: 'bearer',
      value: 'sk-whatever-123456',
      allowed_hosts: [`127.0.0.2:${openaiUp.port}`],
      base_url: 'http://127.0.0.3/v1',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual({ field: 'base_url' });
    for (const base_url of ['ftp://127.0.0.2/x', `http://u:p@127.0.0.2:${openaiUp.port}`, `${openaiUp.url}/v1?x=1`]) {
      const r = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets', {
        slug: 'bad-base',
        type: 'bearer',
        value: 'sk-whatever-123456',
        allowed_hosts: [`127.0.0.2:${openaiUp.port}`],
        base_url,
      });
      expect(r.status, base_url).toBe(400);
    }
    const meta = await api(s.baseUrl, s.appKey, 'GET', `/v1/managed-secrets/${secrets.openai}`);
    expect(meta.body.base_url).toBe(`${openaiUp.url}/v1`);
    // Narrowing the binding away from the base URL's host is refused; so is a base URL outside it.
    const narrow = await api(s.baseUrl, s.appKey, 'PATCH', `/v1/managed-secrets/${secrets.openai}`, {
      allowed_hosts: ['api.openai.com'],
    });
    expect(narrow.status).toBe(400);
    expect(narrow.body.error.details).toEqual({ field: 'base_url' });
    const outside = await api(s.baseUrl, s.appKey, 'PATCH', `/v1/managed-secrets/${secrets.openai}`, {
      base_url: 'https://api.openai.com/v1',
    });
    expect(outside.status).toBe(400);
    expect((await openai(grants.openai!).models.list()).data).toHaveLength(1);
  });

  test("without its own base_url a secret uses its template's, still under the egress binding", async () => {
    // The stripe template's base is https://api.stripe.com, outside this secret's binding: refused
    // by policy before any I/O.
    const id = await createSecret({
      slug: 'stripe-template-base',
      template_id: 'stripe',
      value: STRIPE_KEY,
      allowed_hosts: [`127.0.0.2:${stripeUp.port}`],
    });
    const g = await issueGrant(id);
    const res = await fetch(`${s.baseUrl}/gw/${g}/v1/balance`, { headers: { authorization: `Bearer ${s.appKey}` } });
    expect(res.status).toBe(403);
    expect(res.headers.get('latchkey-error')).toBe('1');
    expect((await res.json()).error).toMatchObject({
      code: 'policy_violation',
      details: { policy_error: 'host_not_allowed' },
    });
    // Setting base_url (then clearing it) switches the target.
    const set = await api(s.baseUrl, s.appKey, 'PATCH', `/v1/managed-secrets/${id}`, { base_url: stripeUp.url });
    expect(set.status, set.text).toBe(200);
    expect(set.body.base_url).toBe(stripeUp.url);
    const ok = await fetch(`${s.baseUrl}/gw/${g}/v1/balance`, { headers: { authorization: `Bearer ${s.appKey}` } });
    expect(ok.status).toBe(200);
    const cleared = await api(s.baseUrl, s.appKey, 'PATCH', `/v1/managed-secrets/${id}`, { base_url: null });
    expect(cleared.body.base_url).toBeNull();
    expect(
      (await fetch(`${s.baseUrl}/gw/${g}/v1/balance`, { headers: { authorization: `Bearer ${s.appKey}` } })).status,
    ).toBe(403);
  });

  test('a secret with no base URL at all cannot be used in gateway mode (400)', async () => {
    const id = await createSecret({
      slug: 'no-base',
      type: 'bearer',
      value: 'sk-no-base-123456',
      allowed_hosts: [`127.0.0.2:${openaiUp.port}`],
    });
    const g = await issueGrant(id);
    const res = await fetch(`${s.baseUrl}/gw/${g}/models`, { headers: { authorization: `Bearer ${s.appKey}` } });
    expect(res.status).toBe(400);
    expect(res.headers.get('latchkey-error')).toBe('1');
    expect((await res.json()).error).toMatchObject({ code: 'invalid_request', details: { field: 'base_url' } });
  });
});

// ---------------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------------

test('every gateway call is audited with front_door "gateway", the upstream URL and the outcome', async () => {
  const completed = await auditEvents(`grant_id=${grants.openai}&event=proxy.request.completed`);
  expect(completed.length).toBeGreaterThanOrEqual(4);
  for (const e of completed) {
    expect(e.details).toEqual({ front_door: 'gateway' });
    expect(e.outcome).toBe('success');
    expect(e.url).toMatch(new RegExp(`^${openaiUp.url}/v1/`));
    expect(e.managed_secret_id).toBe(secrets.openai);
  }
  expect(completed.some((e) => e.method === 'POST' && e.url === `${openaiUp.url}/v1/chat/completions`)).toBe(true);
  const denied = await auditEvents(`grant_id=${grants.openai}&event=proxy.request.denied`);
  expect(denied.some((e) => e.error_code === 'invalid_request' && e.details?.front_door === 'gateway')).toBe(true);
  for (const name of ['anthropic', 'stripe']) {
    const rows = await auditEvents(`grant_id=${grants[name]}&event=proxy.request.completed`);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.every((e) => e.details?.front_door === 'gateway')).toBe(true);
  }
  // The other doors say which they are, too.
  const fwd = await fetch(`${s.baseUrl}/v1/forward`, {
    headers: {
      authorization: `Bearer ${s.appKey}`,
      'latchkey-target': `${openaiUp.url}/v1/models`,
      'latchkey-grant-id': grants.openai!,
    },
  });
  expect(fwd.status).toBe(200);
  const last = (await auditEvents(`grant_id=${grants.openai}&event=proxy.request.completed`))[0]!;
  expect(last.details).toEqual({ front_door: 'forward' });
  const verify = await api(s.baseUrl, s.appKey, 'GET', '/v1/audit/verify');
  expect(verify.body.ok).toBe(true);
});
