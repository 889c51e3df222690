// The data plane's public face for the deploy agent: the client of its control API and the types
// of its configuration. The process itself is main.js; the agent only starts it and talks to it.
export { DataPlaneClient, DataPlaneError, type DataPlaneState } from './client.js';
export type { CertificateConfig, DataPlaneConfig, FrontConfig, ListenerConfig, RouteConfig } from './config.js';
export type { Upstream, UpstreamStats } from './pool.js';
export type { BoundFront, BoundListener } from './server.js';
export { DEFAULT_DRAIN_MS } from './pool.js';
