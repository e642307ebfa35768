import { ERROR_CODES } from '@latchkey/api';
import { z } from 'zod';
import { CONFIG_KEYS } from './config/schema.js';

function defaultOf(schema: z.ZodType): string {
  const r = schema.safeParse(undefined);
  if (!r.success || r.data === undefined) return '—';
  return r.data === '' ? '(empty)' : `\`${String(r.data)}\``;
}

/** Renders `docs/configuration.md` from the config schema (a test fails when the file drifts). */
export function renderConfigurationDoc(): string {
  const rows = Object.entries(CONFIG_KEYS).map(
    ([key, spec]) =>
      `| \`${key}\` | ${defaultOf(spec.schema as z.ZodType)} | ${spec.description.replace(/\|/g, '\\|')} |`,
  );
  return [
    '# Configuration',
    '',
    'Latchkey reads its configuration from the environment once, at start. Every key is validated; a bad',
    'configuration stops the server with one message listing every bad key. There are no default secrets.',
    '',
    '_Generated from `packages/server/src/config/schema.ts` by `npm run docs`._',
    '',
    '| Variable | Default | Description |',
    '| --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

/** Renders `docs/errors.md` from the error registry (a test fails when the file drifts). */
export function renderErrorsDoc(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, e]) => `| \`${code}\` | ${e.status} | ${e.message} | ${e.hint} |`,
  );
  return [
    '# Errors',
    '',
    'Every error response has the body `{ "error": { "code", "message", "details"?, "request_id" } }`.',
    'The `code` is stable; branch on it, never on the message. Refusals from `/v1/forward` also carry the',
    "response header `latchkey-error: 1`, so they cannot be confused with the upstream API's own errors.",
    '',
    '_Generated from `packages/api/src/errors.ts` by `npm run docs`._',
    '',
    '| Code | Status | Message | What to do |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
