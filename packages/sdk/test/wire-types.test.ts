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
import type {
  WireAgent,
  WireAgentList,
  WireAgentMe,
  WireCreateAgentBody,
  WireCreateAgentResponse,
  WireAgentKeyOptions,
  WireRotateAgentKeyBody,
  WireRotateAgentKeyResponse,
  WireUpdateAgentBody,
} from '../src/agents.js';
import type {
  WireIdentityProvider,
  WireIdentityProviderInput,
  WireResolveIdentityResult,
  WireUserTokenBody,
  WireVerifyUserTokenResult,
} from '../src/identity.js';
import type { WireCreateDelegationBody, WireDelegation, WireDelegationList } from '../src/delegations.js';
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
  createAgentBody: true satisfies Sends<WireCreateAgentBody, typeof api.CreateAgentBody>,
  updateAgentBody: true satisfies Sends<WireUpdateAgentBody, typeof api.UpdateAgentBody>,
  agentKeyOptions: true satisfies Sends<WireAgentKeyOptions, typeof api.MintAgentKeyBody>,
  rotateAgentKeyBody: true satisfies Sends<WireRotateAgentKeyBody, typeof api.RotateAgentKeyBody>,
  agent: true satisfies Reads<WireAgent, typeof api.Agent>,
  agentList: true satisfies Reads<WireAgentList, typeof api.AgentList>,
  createAgentResponse: true satisfies Reads<WireCreateAgentResponse, typeof api.CreateAgentResponse>,
  rotateAgentKeyResponse: true satisfies Reads<WireRotateAgentKeyResponse, typeof api.RotateAgentKeyResponse>,
  agentMe: true satisfies Reads<WireAgentMe, typeof api.AgentMe>,
  identityProviderInput: true satisfies Sends<WireIdentityProviderInput, typeof api.IdentityProviderInput>,
  identityProvider: true satisfies Reads<WireIdentityProvider, typeof api.IdentityProvider>,
  userTokenBody: true satisfies Sends<WireUserTokenBody, typeof api.UserTokenBody>,
  verifyUserToken: true satisfies Reads<WireVerifyUserTokenResult, typeof api.VerifyUserTokenResult>,
  resolveIdentity: true satisfies Reads<WireResolveIdentityResult, typeof api.ResolveIdentityResult>,
  createDelegationBody: true satisfies Sends<WireCreateDelegationBody, typeof api.CreateDelegationBody>,
  delegation: true satisfies Reads<WireDelegation, typeof api.Delegation>,
  delegationList: true satisfies Reads<WireDelegationList, typeof api.DelegationList>,
  everyCodeMapped: true satisfies Extends<ErrorCode, keyof typeof SERVER_ERROR_CLASSES>,
};

describe('wire types', () => {
  it('match the @latchkey/api schemas (checked by tsc)', () => {
    expect(Object.values(checks).every(Boolean)).toBe(true);
  });
});
