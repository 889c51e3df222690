// The API contract's public face: the routes, their schemas and the typed client made from them.
export { routes, DeployBody, type RouteName, type RouteSpec, type ParamsOf, type QueryOf, type BodyOf, type ResponseOf, type Method, type Scope } from './contract.js';
export { ApiClient, pathOf, type CallInput, type Transport } from './client.js';
export type { Project, Run, RunSummary, RunDetail, RunPage, LogLine, TokenInfo, CreatedToken, Revision, EnvironmentStatus, Outcome, Rollout, ScaleEvent, Dora, ErrorBody } from './schemas.js';
