/**
 * `@latchkey/sdk`: the fetch-only TypeScript client of Latchkey, a self-hosted credential vault and
 * authorization proxy. Runs on Node.js ≥ 20, Deno, Bun, workers and browsers (Web Crypto + fetch).
 *
 * @example
 * import { App, GrantExpiredError } from '@latchkey/sdk'
 * const app = new App({ apiKey: process.env.LATCHKEY_API_KEY! })
 * const res = await app.request('GET', 'https://api.github.com/user', { grantId })
 *
 * @packageDocumentation
 */
export { App, type AppOptions } from './app.js';
export { Agent, type AgentDelegation, type AgentGrantOptions, type AgentOptions, type TraceFields } from './agent.js';
export {
  AgentsClient,
  type AgentInfo,
  type AgentKeyList,
  type AgentKeyOptions,
  type AgentList,
  type AgentMe,
  type AgentStatus,
  type AgentType,
  type CreateAgentOptions,
  type CreateAgentResult,
  type ListAgentsOptions,
  type RotateAgentKeyOptions,
  type RotateAgentKeyResult,
  type UpdateAgentOptions,
} from './agents.js';
export type { AuthMode, Logger } from './transport.js';
export type { RequestBody, RequestOptions } from './forward.js';
export type { GrantSelectorOptions, UserTokenGetter } from './selector.js';
export {
  IdentityClient,
  type IdentityProvider,
  type IdentityProviderOptions,
  type ResolvedIdentity,
  type UserTokenAlgorithm,
  type VerifiedUserToken,
} from './identity.js';
export type { CreateDelegationOptions, Delegation } from './delegations.js';
export { PROXY_METHODS, type ApprovalResult, type ProxyMethod, type ProxyRequestOptions } from './proxy.js';
export {
  awsRequestHandler,
  type AwsHttpHandlerOptions,
  type AwsHttpRequest,
  type AwsHttpResponse,
  type AwsRequestHandler,
  type AwsRequestHandlerOptions,
} from './aws.js';
export type {
  CreateGrantOptions,
  CreateGrantResult,
  Grant,
  GrantKind,
  GrantPolicyInput,
  GrantStatus,
  ListGrantsOptions,
  Principal,
  RevokeGrantResult,
  UnifiedGrantListResult,
} from './grants.js';
export {
  ManagedSecretsClient,
  type CreateManagedSecretOptions,
  type DeleteManagedSecretResult,
  type Injection,
  type InjectionTarget,
  type ManagedSecret,
  type ManagedSecretList,
  type SecretType,
  type SecretValue,
  type UpdateManagedSecretOptions,
} from './managed-secrets.js';
export { KeysClient, type KeyList, type KeyMeta, type MintKeyOptions, type MintKeyResult } from './keys.js';
export {
  AuditClient,
  type AuditEvent,
  type AuditList,
  type AuditOutcome,
  type AuditVerifyResult,
  type ListAuditOptions,
} from './audit.js';
export type { Page } from './wire.js';
export type { QueryParams } from './validate.js';
export {
  AgentError,
  AgentInactiveError,
  AgentNameExistsError,
  AgentNotFoundError,
  AgentRevokedError,
  AgentScopeNarrowingError,
  LastActiveKeyError,
  AmbiguousGrantError,
  AuditUnavailableError,
  AuthenticationError,
  BackendError,
  ConflictError,
  CredentialRevokedError,
  GrantDeletedError,
  GrantExpiredError,
  GrantNotFoundError,
  GrantRevokedError,
  InsufficientScopeError,
  InvalidUserTokenError,
  KeyExpiredError,
  KeyRevokedError,
  LatchkeyError,
  LatchkeyValueError,
  NetworkError,
  NotFoundError,
  PolicyViolationError,
  ProviderAPIError,
  RateLimitedError,
  ReAuthRequiredError,
  TimeoutError,
  UpstreamError,
  type ClientErrorCode,
  type LatchkeyErrorCode,
  type LatchkeyErrorInit,
  type ProviderAPIErrorInit,
  type RateLimitedErrorInit,
} from './errors.js';
