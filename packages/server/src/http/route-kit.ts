import type { FastifyRequest } from 'fastify';
import { ErrorResponse } from '@latchkey/api';
import type { AuthContext } from './authenticate.js';
import type { Actor } from '../modules/keys/keys.service.js';

/** Error responses every authenticated route documents. */
export const errorResponses = { '4xx': ErrorResponse, '5xx': ErrorResponse } as const;

/** The authenticated caller (set by `requireScope`). */
export function authOf(request: FastifyRequest): AuthContext {
  if (!request.auth) throw new TypeError('route is missing its authentication hook');
  return request.auth;
}

/** The audit actor of the authenticated caller. */
export function actorOf(request: FastifyRequest): Actor {
  const auth = authOf(request);
  return { keyPrefix: auth.keyPrefix, caller: auth.caller, agentId: auth.agentId };
}

/** Pagination fields of a list result. */
export function pageOf(total: number, limit: number, offset: number, count: number) {
  return { total, limit, offset, has_more: offset + count < total };
}
