export { createDelegationsService, delegationKey, type DelegationsService } from './delegations.service.js';
export { delegationsRoutes } from './delegations.routes.js';
