import type { ProviderTemplate, TestEndpoint } from '@latchkey/providers';

/**
 * Filters catalog templates by kind and category (both optional).
 *
 * @param templates the catalog, sorted by id.
 * @returns the matching templates, still sorted.
 */
export function filterTemplates(
  templates: readonly ProviderTemplate[],
  query: { kind?: string | undefined; category?: string | undefined },
): ProviderTemplate[] {
  return templates.filter(
    (t) =>
      (query.kind === undefined || t.kind === query.kind) &&
      (query.category === undefined || t.category === query.category),
  );
}

/**
 * The URL a managed secret's test call goes to: the template's `test_endpoint.path` (absolute,
 * may carry a query) on the origin of the secret's base URL.
 *
 * @param baseUrl the secret's own base URL, else its template's (absolute http(s)).
 * @example probeUrl('https://api.stripe.com', { path: '/v1/balance', … }).href // 'https://api.stripe.com/v1/balance'
 */
export function probeUrl(baseUrl: string, test: Pick<TestEndpoint, 'path'>): URL {
  return new URL(test.path, new URL(baseUrl).origin);
}

/** Static test headers with lowercase names, as the pipeline expects them. */
export function probeHeaders(test: Pick<TestEndpoint, 'headers'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(test.headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}

/**
 * Whether a test call's answer means the credential works: the expected status and, when the
 * template names one, a top-level JSON field that is exactly `true` (APIs such as Slack answer 200
 * with `"ok": false` for a bad token).
 *
 * @param body the start of the response body (may be cut); only read for the JSON check.
 */
export function isProbeOk(
  test: Pick<TestEndpoint, 'expect_status' | 'expect_json_field_true'>,
  statusCode: number | null,
  body: Buffer | null,
): boolean {
  if (statusCode !== test.expect_status) return false;
  if (test.expect_json_field_true === undefined) return true;
  if (body === null) return false;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    return (
      typeof parsed === 'object' &&
      parsed !== null &&
      !Array.isArray(parsed) &&
      (parsed as Record<string, unknown>)[test.expect_json_field_true] === true
    );
  } catch {
    return false;
  }
}
