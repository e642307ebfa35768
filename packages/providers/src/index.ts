// Public surface of @latchkey/providers: the provider catalog as data, its schema and validator.

export { loadCatalog, CatalogError } from './load.js';
export { validateTemplate } from './validate.js';
export { isHostAllowed, createHostMatcher, validateHostPattern, normalizeHost } from './hosts.js';
export type { HostMatcher } from './hosts.js';
export { parseFormat, fillFormat } from './format.js';
export type { ParsedFormat } from './format.js';
export type {
  ApiKeyInjection,
  ApiKeyTemplate,
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
  ProviderCategory,
  ProviderKind,
  ProviderTemplate,
  TemplateValidation,
  TestEndpoint,
  ValueHint,
} from './types.js';
