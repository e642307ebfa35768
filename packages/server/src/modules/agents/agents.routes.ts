import type { FastifyInstance, FastifyRequest, preValidationAsyncHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  Agent,
  AgentIdParams,
  AgentKeyList,
  AgentKeyParams,
  AgentList,
  AgentMe,
  AgentNameParams,
  CreateAgentBody,
  CreateAgentResponse,
  IDEMPOTENCY_KEY_HEADER,
  KeyMeta,
  ListAgentsQuery,
  MintAgentKeyBody,
  MintAgentKeyResponse,
  PageQuery,
  RevokeAgentKeyBody,
  RotateAgentKeyBody,
  RotateAgentKeyResponse,
  UpdateAgentBody,
} from '@latchkey/api';
import { LatchkeyError } from '../../errors.js';
import type { Authenticator } from '../../http/authenticate.js';
import { requireScope } from '../../http/auth-hook.js';
import { actorOf, authOf, errorResponses, pageOf } from '../../http/route-kit.js';
import { IDEMPOTENCY_KEY_PATTERN, requestFingerprint } from '../idempotency/idempotency.fns.js';
import type { IdempotencyRequest } from '../idempotency/idempotency.service.js';
import type { AgentsService } from './agents.service.js';

/** The `Idempotency-Key` of a request, if any. @throws LatchkeyError `invalid_request` on a malformed one. */
function idempotencyOf(req: FastifyRequest, route: string, body: unknown): IdempotencyRequest | undefined {
  const raw = req.headers[IDEMPOTENCY_KEY_HEADER];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(raw)) {
    throw new LatchkeyError('invalid_request', {
      message: 'Idempotency-Key must be 1 to 255 visible ASCII characters.',
      details: { header: IDEMPOTENCY_KEY_HEADER },
    });
  }
  return { key: raw, fingerprint: requestFingerprint(req.method, route, body) };
}

/**
 * `/v1/agents`: agent management for app keys (create with the first key, list, get, get by name,
 * update, pause, resume, revoke; mint, list, deprecate, undeprecate, rotate and revoke agent keys),
 * and `GET /v1/agents/me` for the agent itself. Agents never reach the management routes: an agent
 * key (or an app key acting as an agent) gets `403 insufficient_scope`.
 */
export function agentsRoutes(deps: {
  agents: AgentsService;
  authenticate: Authenticator;
  publicUrl: string | undefined;
}) {
  const { agents } = deps;
  /** App keys with `scope`; agents cannot manage agents. */
  const manage = (scope: string): preValidationAsyncHookHandler[] => [
    requireScope(deps.authenticate, deps.publicUrl, scope),
    async (req) => {
      if (authOf(req).kind === 'agent') {
        throw new LatchkeyError('insufficient_scope', {
          message: 'Agents cannot manage agents.',
          details: { required_scope: scope },
        });
      }
    },
  ];
  const read = manage('agents:read');
  const write = manage('agents:write');

  return async function (app: FastifyInstance): Promise<void> {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.post('/v1/agents', {
      schema: {
        operationId: 'createAgent',
        tags: ['agents'],
        body: CreateAgentBody,
        response: { 201: CreateAgentResponse, ...errorResponses },
      },
      preValidation: write,
      handler: async (req, reply) => {
        const idem = idempotencyOf(req, '/v1/agents', req.body);
        const { statusCode, body } = await agents.create(authOf(req).appId, req.body, actorOf(req), idem);
        return reply.code(statusCode).header('cache-control', 'no-store').send(body);
      },
    });
    r.get('/v1/agents', {
      schema: {
        operationId: 'listAgents',
        tags: ['agents'],
        querystring: ListAgentsQuery,
        response: { 200: AgentList, ...errorResponses },
      },
      preValidation: read,
      handler: async (req) => {
        const { agents: items, total } = await agents.list(authOf(req).appId, req.query);
        return { agents: items, ...pageOf(total, req.query.limit, req.query.offset, items.length) };
      },
    });
    r.get('/v1/agents/me', {
      schema: { operationId: 'getAgentMe', tags: ['agents'], response: { 200: AgentMe, ...errorResponses } },
      // The one call a paused agent may make: it can learn that it is paused.
      preValidation: requireScope(deps.authenticate, deps.publicUrl, null, { allowPausedAgent: true }),
      handler: async (req) => {
        const auth = authOf(req);
        if (auth.kind !== 'agent' || !auth.agentId) {
          throw new LatchkeyError('insufficient_scope', {
            message: `This endpoint needs an agent key, or an app key sending latchkey-act-as.`,
            details: { required_scope: 'agents:write' },
          });
        }
        return agents.me({ appId: auth.appId, agentId: auth.agentId, keyId: auth.keyId });
      },
    });
    r.get('/v1/agents/by-name/:name', {
      schema: {
        operationId: 'getAgentByName',
        tags: ['agents'],
        params: AgentNameParams,
        response: { 200: Agent, ...errorResponses },
      },
      preValidation: read,
      handler: async (req) => agents.getByName(authOf(req).appId, req.params.name),
    });
    r.get('/v1/agents/:agent_id', {
      schema: {
        operationId: 'getAgent',
        tags: ['agents'],
        params: AgentIdParams,
        response: { 200: Agent, ...errorResponses },
      },
      preValidation: read,
      handler: async (req) => agents.get(authOf(req).appId, req.params.agent_id),
    });
    r.patch('/v1/agents/:agent_id', {
      schema: {
        operationId: 'updateAgent',
        tags: ['agents'],
        params: AgentIdParams,
        body: UpdateAgentBody,
        response: { 200: Agent, ...errorResponses },
      },
      preValidation: write,
      handler: async (req) => agents.update(authOf(req).appId, req.params.agent_id, req.body, actorOf(req)),
    });
    for (const [verb, op] of [
      ['pause', 'pauseAgent'],
      ['resume', 'resumeAgent'],
      ['revoke', 'revokeAgent'],
    ] as const) {
      r.post(`/v1/agents/:agent_id/${verb}`, {
        schema: {
          operationId: op,
          tags: ['agents'],
          params: AgentIdParams,
          response: { 200: Agent, ...errorResponses },
        },
        preValidation: write,
        handler: async (req) => agents[verb](authOf(req).appId, req.params.agent_id, actorOf(req)),
      });
    }
    r.post('/v1/agents/:agent_id/keys', {
      schema: {
        operationId: 'mintAgentKey',
        tags: ['agents'],
        params: AgentIdParams,
        // No body at all (null) means the defaults.
        body: MintAgentKeyBody.nullish(),
        response: { 201: MintAgentKeyResponse, ...errorResponses },
      },
      preValidation: write,
      handler: async (req, reply) => {
        const { key, apiKey } = await agents.mintKey(
          authOf(req).appId,
          req.params.agent_id,
          req.body ?? {},
          actorOf(req),
        );
        return reply.code(201).header('cache-control', 'no-store').send({ key, api_key: apiKey });
      },
    });
    r.get('/v1/agents/:agent_id/keys', {
      schema: {
        operationId: 'listAgentKeys',
        tags: ['agents'],
        params: AgentIdParams,
        querystring: PageQuery,
        response: { 200: AgentKeyList, ...errorResponses },
      },
      preValidation: read,
      handler: async (req) => {
        const { keys, total } = await agents.listKeys(authOf(req).appId, req.params.agent_id, req.query);
        return { keys, ...pageOf(total, req.query.limit, req.query.offset, keys.length) };
      },
    });
    for (const [verb, op, fn] of [
      ['deprecate', 'deprecateAgentKey', 'deprecateKey'],
      ['undeprecate', 'undeprecateAgentKey', 'undeprecateKey'],
    ] as const) {
      r.post(`/v1/agents/:agent_id/keys/:key_id/${verb}`, {
        schema: {
          operationId: op,
          tags: ['agents'],
          params: AgentKeyParams,
          response: { 200: KeyMeta, ...errorResponses },
        },
        preValidation: write,
        handler: async (req) => agents[fn](authOf(req).appId, req.params.agent_id, req.params.key_id, actorOf(req)),
      });
    }
    r.post('/v1/agents/:agent_id/keys/:key_id/rotate', {
      schema: {
        operationId: 'rotateAgentKey',
        tags: ['agents'],
        params: AgentKeyParams,
        // No body at all (null) means the defaults.
        body: RotateAgentKeyBody.nullish(),
        response: { 201: RotateAgentKeyResponse, ...errorResponses },
      },
      preValidation: write,
      handler: async (req, reply) => {
        const { key, apiKey, previous } = await agents.rotateKey(
          authOf(req).appId,
          req.params.agent_id,
          req.params.key_id,
          req.body ?? RotateAgentKeyBody.parse({}),
          actorOf(req),
        );
        return reply
          .code(201)
          .header('cache-control', 'no-store')
          .send({ key, api_key: apiKey, previous_key: previous });
      },
    });
    r.post('/v1/agents/:agent_id/keys/:key_id/revoke', {
      schema: {
        operationId: 'revokeAgentKey',
        tags: ['agents'],
        params: AgentKeyParams,
        // No body at all (null) means the defaults.
        body: RevokeAgentKeyBody.nullish(),
        response: { 200: KeyMeta, ...errorResponses },
      },
      preValidation: write,
      handler: async (req) =>
        agents.revokeKey(
          authOf(req).appId,
          req.params.agent_id,
          req.params.key_id,
          { force: req.body?.force ?? false },
          actorOf(req),
        ),
    });
  };
}
