// The docker deploy target's public face: the target, the agent (for `slipway agent` and tests),
// and the names tests use to find what an agent started.
export { DockerDeployTarget, type DockerTargetOptions } from './target.js';
export { Agent, AGENT_BODY_LIMIT_BYTES, socketPath, type AgentOptions } from './agent.js';
export { AgentClient } from './api.js';
export { runAgent } from './agent-main.js';
export { agentId, LABEL_AGENT, LABEL_APP, LABEL_ENVIRONMENT, LABEL_REVISION } from './labels.js';
export type { DockerEnvironmentStatus } from './environment.js';
export type { ReplicaInfo, ReplicaState } from './replicas.js';
