export {
  createIdentityService,
  USER_TOKEN_CLOCK_TOLERANCE_S,
  type CachedProvider,
  type CachedUser,
  type IdentityService,
  type VerifiedUser,
} from './identity.service.js';
export { identityRoutes } from './identity.routes.js';
export { createIdpFetch, IdpFetchError, type IdpFetch } from './idp-fetch.js';
