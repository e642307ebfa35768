// Public surface of @latchkey/providers: the provider catalog as data, its schema and validator.

export { loadCatalog, CatalogError } from './load.js';
export { validateTemplate } from './validate.js';
export { isManagedSecretTemplate, isOAuth2Template } from './kinds.js';
export { isHostAllowed, createHostMatcher, validateHostPattern, normalizeHost } from './hosts.js';
export type { HostMatcher } from './hosts.js';
export { parseFormat, fillFormat } from './format.js';
export type { ParsedFormat } from './format.js';
export type {
  ApiKeyInjection,
  ApiKeyTemplate,
  AwsSigV4Injection,
  AwsSigV4Template,
  BasicInjection,
  BasicTemplate,
  BearerInjection,
  BearerTemplate,
  Catalog,
  CatalogProblem,
  CredentialType,
  CustomField,
  CustomInjection,
  CustomParam,
  CustomTemplate,
  DocumentedHeader,
  Injection,
  ManagedSecretTemplate,
  OAuth2Template,
  ProviderCategory,
  ProviderKind,
  ProviderTemplate,
  RefreshBehaviour,
  TemplateValidation,
  TestEndpoint,
  ValueHint,
} from './types.js';
