import type { z } from 'zod';
import type {
  Agent,
  AgentKeyOptions,
  CreateAgentBody,
  CreateAgentResponse,
  KeyMeta,
  ListAgentsQuery,
  RotateAgentKeyBody,
  UpdateAgentBody,
} from '@latchkey/api';

/** An agent as the API returns it. */
export type AgentT = z.infer<typeof Agent>;
/** Key metadata as the API returns it. */
export type KeyMetaT = z.infer<typeof KeyMeta>;
/** Validated body of `POST /v1/agents`. */
export type CreateAgentInput = z.infer<typeof CreateAgentBody>;
/** Validated body of `PATCH /v1/agents/{id}`. */
export type UpdateAgentInput = z.infer<typeof UpdateAgentBody>;
/** Validated query of `GET /v1/agents`. */
export type ListAgentsInput = z.infer<typeof ListAgentsQuery>;
/** Validated body of the agent key mint route. */
export type AgentKeyInput = z.infer<typeof AgentKeyOptions>;
/** Validated body of the agent key rotate route. */
export type RotateAgentKeyInput = z.infer<typeof RotateAgentKeyBody>;
/** Response of `POST /v1/agents`. */
export type CreateAgentResult = z.infer<typeof CreateAgentResponse>;

/** Lifecycle status, derived from `paused_at` / `revoked_at`. */
export type AgentStatus = 'active' | 'paused' | 'revoked';

/**
 * What authentication needs about an agent (cached per replica, invalidated cluster-wide on every
 * change, so a pause or revocation is enforced by every replica within a second).
 */
export interface AgentAuthRecord {
  readonly id: string;
  readonly appId: string;
  readonly status: AgentStatus;
  readonly scopes: readonly string[];
  /** Requests per minute shared by all the agent's keys, or null for unlimited. */
  readonly rateLimitRpm: number | null;
}
