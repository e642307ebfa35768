export { agentsRoutes } from './agents.routes.js';
export { createAgentsService, type AgentsService } from './agents.service.js';
export type { AgentAuthRecord, AgentStatus, AgentT } from './agents.types.js';
