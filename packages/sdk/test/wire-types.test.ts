/**
 * Drift check between the SDK's hand-written wire types and the contract's zod schemas. The checks
 * are type-level: `npm run typecheck` fails when a schema field is added, renamed or retyped without
 * the SDK following. (Runtime bodies are additionally parsed with the schemas in the other tests.)
 */
import type * as api from '@latchkey/api';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { WireAuditEvent, WireAuditList, WireAuditVerifyResult } from '../src/audit.js';
import type { WireCreateGrantBody, WireGrant, WireGrantList } from '../src/grants.js';
import type { WireKeyMeta, WireMintKeyBody } from '../src/keys.js';
import type {
  WireCreateSecretBody,
  WireDeleteSecretResponse,
  WireSecretMeta,
  WireUpdateSecretBody,
} from '../src/managed-secrets.js';
import type { ProxyMethod, WireProxyRequest, WireProxyResult } from '../src/proxy.js';
import type { ErrorCode } from '@latchkey/api/errors';
import type { SERVER_ERROR_CLASSES } from '../src/errors.js';

type Extends<A, B> = [A] extends [B] ? true : false;
type Same<A, B> = [Extends<A, B>, Extends<B, A>] extends [true, true] ? true : false;

/** What the SDK sends must be accepted by the server's request schema, with no field it lacks. */
type Sends<Wire, Schema extends z.ZodType> = [
  Extends<Wire, z.input<Schema>>,
  Extends<keyof Wire, keyof z.input<Schema>>,
] extends [true, true]
  ? true
  : false;
/** What the server answers (schema output) and the SDK's wire type must be the same shape. */
type Reads<Wire, Schema extends z.ZodType> = Same<Wire, z.output<Schema>>;

const checks = {
  mintKeyBody: true satisfies Sends<WireMintKeyBody, typeof api.MintKeyBody>,
  keyMeta: true satisfies Reads<WireKeyMeta, typeof api.KeyMeta>,
  createSecretBody: true satisfies Sends<WireCreateSecretBody, typeof api.CreateSecretBody>,
  updateSecretBody: true satisfies Sends<WireUpdateSecretBody, typeof api.UpdateSecretBody>,
  secretMeta: true satisfies Reads<WireSecretMeta, typeof api.SecretMeta>,
  deleteSecret: true satisfies Reads<WireDeleteSecretResponse, typeof api.DeleteSecretResponse>,
  createGrantBody: true satisfies Sends<WireCreateGrantBody, typeof api.CreateGrantBody>,
  grant: true satisfies Reads<WireGrant, typeof api.Grant>,
  grantList: true satisfies Reads<WireGrantList, typeof api.GrantList>,
  proxyRequest: true satisfies Sends<WireProxyRequest, typeof api.ProxyRequestBody>,
  proxyResult: true satisfies Reads<WireProxyResult, typeof api.ProxyResult>,
  proxyMethod: true satisfies Same<ProxyMethod, z.output<typeof api.ProxyMethod>>,
  auditEvent: true satisfies Reads<WireAuditEvent, typeof api.AuditEvent>,
  auditList: true satisfies Reads<WireAuditList, typeof api.AuditList>,
  auditVerify: true satisfies Reads<WireAuditVerifyResult, typeof api.AuditVerifyResult>,
  everyCodeMapped: true satisfies Extends<ErrorCode, keyof typeof SERVER_ERROR_CLASSES>,
};

describe('wire types', () => {
  it('match the @latchkey/api schemas (checked by tsc)', () => {
    expect(Object.values(checks).every(Boolean)).toBe(true);
  });
});
