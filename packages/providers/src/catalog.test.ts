// Facts about the shipped catalog: counts per kind, where each entry's documentation lives, and
// the header/endpoint facts that were checked against each provider's own documentation (the
// page in its docs_url). A change to one of these facts must come with a new look at the docs.

import { describe, expect, it } from 'vitest';
import { isManagedSecretTemplate, isOAuth2Template } from './kinds.js';
import { loadCatalog } from './load.js';
import type { ProviderTemplate } from './types.js';

const catalog = loadCatalog();
const managed = catalog.list().filter(isManagedSecretTemplate);
const oauth2 = catalog.list().filter(isOAuth2Template);

/**
 * The registrable domain of a host: its last two labels. Good enough for the hosts in this
 * catalog (none sits under a multi-label public suffix such as co.uk; the test below fails
 * loudly if one ever does, because its docs host would then match nothing).
 */
function registrableDomain(host: string): string {
  return host.replace(/^\*\./, '').split('.').slice(-2).join('.');
}

/** Hosts that identify the provider: its API hosts and, for OAuth entries, its endpoints. */
function providerDomains(t: ProviderTemplate): Set<string> {
  const hosts = [...t.allowed_hosts];
  if (t.base_url) hosts.push(new URL(t.base_url).hostname);
  if (isOAuth2Template(t)) {
    for (const url of [t.authorization_endpoint, t.token_endpoint, t.revocation_endpoint, t.userinfo_endpoint]) {
      if (url) hosts.push(new URL(url).hostname);
    }
  }
  return new Set(hosts.map(registrableDomain));
}

/**
 * Entries whose documentation lives on a domain other than their API's, each with the reason.
 * `prefix` is the start of the docs URL that is accepted.
 */
const DOCS_ELSEWHERE: Readonly<Record<string, { prefix: string; why: string }>> = {
  algolia: { prefix: 'https://www.algolia.com/', why: 'API on algolia.net, docs on algolia.com' },
  aws: { prefix: 'https://docs.aws.amazon.com/', why: 'API on amazonaws.com, docs on amazon.com' },
  dropbox: { prefix: 'https://dropbox.tech/', why: "Dropbox's developer blog; API on dropboxapi.com" },
  hubspot: { prefix: 'https://developers.hubspot.com/', why: 'API on hubapi.com, docs on hubspot.com' },
  intercom: { prefix: 'https://developers.intercom.com/', why: 'API on intercom.io, docs on intercom.com' },
  mailgun: { prefix: 'https://documentation.mailgun.com/', why: 'API on mailgun.net, docs on mailgun.com' },
  pagerduty: {
    prefix: 'https://github.com/PagerDuty/developer-docs/',
    why: "PagerDuty's own repository, the source of developer.pagerduty.com",
  },
  sendgrid: { prefix: 'https://www.twilio.com/docs/sendgrid/', why: 'SendGrid is part of Twilio' },
  shopify: { prefix: 'https://shopify.dev/', why: "Shopify's developer site; API on myshopify.com" },
  slack: { prefix: 'https://docs.slack.dev/', why: "Slack's developer docs; API on slack.com" },
  'slack-oauth': { prefix: 'https://docs.slack.dev/', why: "Slack's developer docs; API on slack.com" },
};

describe('the shipped catalog', () => {
  it('has at least 30 managed-secret templates and 15 OAuth 2.0 providers', () => {
    expect(managed.length).toBeGreaterThanOrEqual(30);
    expect(oauth2.length).toBeGreaterThanOrEqual(15);
  });

  it.each(catalog.list().filter((t) => t.allowed_hosts.length > 0))(
    '$id documents itself on an https page of its own domain',
    (t) => {
      expect(t.docs_url).toMatch(/^https:\/\//);
      const docs = new URL(t.docs_url!);
      const allowed = DOCS_ELSEWHERE[t.id];
      if (allowed) {
        expect(t.docs_url?.startsWith(allowed.prefix), `${t.id}: ${allowed.why}`).toBe(true);
      } else {
        expect([...providerDomains(t)]).toContain(registrableDomain(docs.hostname));
      }
    },
  );

  it('keeps the docs exceptions list free of stale entries', () => {
    for (const id of Object.keys(DOCS_ELSEWHERE)) {
      const t = catalog.get(id);
      expect(t, id).toBeDefined();
      if (t) expect([...providerDomains(t)], id).not.toContain(registrableDomain(new URL(t.docs_url!).hostname));
    }
  });

  it('injects each managed secret the way its provider documents', () => {
    const facts = Object.fromEntries(
      managed.map((t) => [
        t.id,
        t.credential_type === 'api_key'
          ? `${t.injection.header}: ${t.injection.format}`
          : t.credential_type === 'custom'
            ? (t.injection?.headers ?? []).map((h) => `${h.name}: ${h.format}`).join(', ') || 'custom'
            : t.credential_type,
      ]),
    );
    expect(facts).toMatchObject({
      algolia: 'x-algolia-application-id: {application_id}, x-algolia-api-key: {api_key}',
      brevo: 'api-key: {token}',
      circleci: 'Circle-Token: {token}',
      cloudflare: 'bearer',
      cohere: 'bearer',
      deepgram: 'Authorization: Token {token}',
      gitlab: 'PRIVATE-TOKEN: {token}',
      groq: 'bearer',
      hubspot: 'bearer',
      huggingface: 'bearer',
      intercom: 'bearer',
      linear: 'Authorization: {token}',
      mailgun: 'basic',
      mistral: 'bearer',
      netlify: 'bearer',
      notion: 'bearer',
      pagerduty: 'Authorization: Token token={token}',
      pinecone: 'Api-Key: {token}',
      postmark: 'X-Postmark-Server-Token: {token}',
      replicate: 'bearer',
      sentry: 'bearer',
      shopify: 'X-Shopify-Access-Token: {token}',
      together: 'bearer',
      vercel: 'bearer',
      zendesk: 'basic',
    });
  });

  it('describes each OAuth provider as documented', () => {
    const facts = Object.fromEntries(
      oauth2.map((t) => [
        t.id,
        [t.authorization_endpoint, t.token_endpoint, t.scope_separator === ',' ? 'comma' : 'space', t.pkce],
      ]),
    );
    expect(facts).toEqual({
      atlassian: [
        'https://auth.atlassian.com/authorize',
        'https://auth.atlassian.com/oauth/token',
        'space',
        'unsupported',
      ],
      box: ['https://account.box.com/api/oauth2/authorize', 'https://api.box.com/oauth2/token', 'space', 'unsupported'],
      discord: [
        'https://discord.com/api/oauth2/authorize',
        'https://discord.com/api/oauth2/token',
        'space',
        'supported',
      ],
      dropbox: [
        'https://www.dropbox.com/oauth2/authorize',
        'https://api.dropboxapi.com/oauth2/token',
        'space',
        'supported',
      ],
      'github-oauth': [
        'https://github.com/login/oauth/authorize',
        'https://github.com/login/oauth/access_token',
        'space',
        'supported',
      ],
      'gitlab-oauth': ['https://gitlab.com/oauth/authorize', 'https://gitlab.com/oauth/token', 'space', 'supported'],
      google: [
        'https://accounts.google.com/o/oauth2/v2/auth',
        'https://oauth2.googleapis.com/token',
        'space',
        'supported',
      ],
      'hubspot-oauth': [
        'https://app.hubspot.com/oauth/authorize',
        'https://api.hubapi.com/oauth/v1/token',
        'space',
        'unsupported',
      ],
      'linear-oauth': [
        'https://linear.app/oauth/authorize',
        'https://api.linear.app/oauth/token',
        'comma',
        'supported',
      ],
      microsoft: [
        'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
        'https://login.microsoftonline.com/common/oauth2/v2.0/token',
        'space',
        'supported',
      ],
      'notion-oauth': [
        'https://api.notion.com/v1/oauth/authorize',
        'https://api.notion.com/v1/oauth/token',
        'space',
        'unsupported',
      ],
      resend: ['https://api.resend.com/oauth/authorize', 'https://api.resend.com/oauth/token', 'space', 'supported'],
      salesforce: [
        'https://login.salesforce.com/services/oauth2/authorize',
        'https://login.salesforce.com/services/oauth2/token',
        'space',
        'supported',
      ],
      'slack-oauth': [
        'https://slack.com/oauth/v2/authorize',
        'https://slack.com/api/oauth.v2.access',
        'comma',
        'unsupported',
      ],
      spotify: [
        'https://accounts.spotify.com/authorize',
        'https://accounts.spotify.com/api/token',
        'space',
        'supported',
      ],
      x: ['https://x.com/i/oauth2/authorize', 'https://api.x.com/2/oauth2/token', 'space', 'required'],
      zoom: ['https://zoom.us/oauth/authorize', 'https://zoom.us/oauth/token', 'space', 'supported'],
    });
  });

  it('asks Google and Atlassian for the parameters their refresh tokens need', () => {
    const params = (id: string) => {
      const t = catalog.get(id);
      return t && isOAuth2Template(t) ? t.authorization_params : undefined;
    };
    expect(params('google')).toEqual({ access_type: 'offline', prompt: 'consent' });
    expect(params('atlassian')).toEqual({ audience: 'api.atlassian.com', prompt: 'consent' });
    expect(params('dropbox')).toEqual({ token_access_type: 'offline' });
  });

  it('uses ids that are unique across both kinds', () => {
    const ids = catalog.list().map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(catalog.get('github')?.kind).toBe('managed_secret');
    expect(catalog.get('github-oauth')?.kind).toBe('oauth2');
  });
});
