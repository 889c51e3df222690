// The API contract: every route once — method, path, the scope it needs, and the schemas of its
// path parameters, query, body and answers. The server registers its handlers by these names
// (validation and the OpenAPI document come from here), and the typed client calls them by name.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import * as S from './schemas.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type Scope = 'read' | 'run' | 'deploy' | 'admin';

export interface RouteSpec {
  method: Method;
  /** OpenAPI style: /api/runs/{id} */
  path: string;
  summary: string;
  tag: string;
  /** undefined: no token needed */
  scope?: Scope;
  params?: TSchema;
  query?: TSchema;
  body?: TSchema;
  /** the 422 code for a body, query or parameter that does not fit its schema */
  invalidCode?: string;
  /** the body is checked by the handler's own parser (its 422 names the fields the same way) */
  bodyCheckedByHandler?: boolean;
  /** answers Server-Sent Events with `Accept: text/event-stream` */
  events?: boolean;
  /** the status of success and its body */
  status: number;
  response: TSchema;
}

const spec = <const T extends RouteSpec>(route: T): T => route;

const ProjectName = Type.String({ minLength: 1, maxLength: 200, description: 'a project name' });
const Id = Type.String({ minLength: 1, maxLength: 200 });
const Name = Type.Object({ name: ProjectName });
const SecretName = Type.String({ pattern: '^[A-Z_][A-Z0-9_]*$', maxLength: 200, errorMessage: 'upper-case letters, digits and _ (e.g. API_TOKEN)' });
const AppEnv = Type.Object({ app: Id, env: Id });
const RunJob = Type.Object({ id: Id, job: Type.String({ maxLength: 160, pattern: '^[a-zA-Z][a-zA-Z0-9_-]{0,99}( \\([a-zA-Z_][a-zA-Z0-9_-]*=[ -~]*\\))?$', errorMessage: 'a job name (test, or test (node=18, db=pg) for a combination of a matrix job)' }) });
/** the registry's grammar is checked by the handler (src/registry/names.ts), which names the rule */
const RepositoryName = Type.String({ minLength: 1, maxLength: 255, errorMessage: 'a repository name (e.g. team/web)' });
const RegistryTagName = Type.String({ pattern: '^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$', errorMessage: 'a tag (letters, digits, _ . -; at most 128; not starting with . or -)' });
const After = Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', errorMessage: 'a line number' }));
const ScaleEvents = Type.Array(S.ScaleEvent, { description: 'changes of the replica count without a new revision (slipway scale, the autoscaler), oldest first' });
/** the same limit as a deploy block's replicas (src/deploy/autoscale.ts) */
const MAX_REPLICAS = 1000;
const RevisionNumber = Type.String({ pattern: '^[1-9][0-9]{0,8}$', errorMessage: 'a revision number (1 or more)' });

export const DeployBody = Type.Object(
  {
    image: Type.Optional(Type.String({ description: 'the image reference to roll out (required, except with sync)' })),
    target: Type.Optional(Type.Union([Type.Literal('docker'), Type.Literal('kubernetes')])),
    replicas: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    publish: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    health: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'path | tcp | cmd, interval, timeout, healthy, unhealthy, startPeriod' })),
    strategy: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'maxSurge, maxUnavailable, progressDeadline, autoRollback' })),
    kubernetes: Type.Optional(Type.Object({ namespace: Type.Optional(Type.String()) })),
    autoscale: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'min, max, targetInflight, targetCPU, cooldown: {up, down} (docs/pipeline-file.md)' })),
    force: Type.Optional(Type.Boolean({ description: 'roll out a new revision (replicas restarted) even when the image digest and config equal the current revision\'s; without it such a deploy is a no-op whose outcome is `unchanged`' })),
    sync: Type.Optional(Type.Boolean({ description: 'true, alone in the body: apply the current revision again as recorded, putting back what drifted (kubernetes), without adding a revision; the rollout has kind `sync`. false or absent: a deploy' })),
  },
  { description: 'the deploy block of slipway.yaml without environment, and whether to force a rollout; or {"sync": true}' },
);
export type DeployBody = Static<typeof DeployBody>;

export const routes = {
  openapi: spec({ method: 'GET', path: '/api/openapi.json', tag: 'meta', summary: 'This document', status: 200, response: Type.Record(Type.String(), Type.Unknown()) }),
  health: spec({ method: 'GET', path: '/healthz', tag: 'meta', summary: 'Liveness', status: 200, response: Type.Object({ status: Type.Literal('ok') }) }),
  metrics: spec({ method: 'GET', path: '/metrics', tag: 'meta', summary: 'Prometheus metrics (text exposition format)', status: 200, response: Type.String() }),

  listProjects: spec({ method: 'GET', path: '/api/projects', tag: 'projects', scope: 'read', summary: 'Every project, with its newest run', status: 200, response: Type.Object({ projects: Type.Array(S.ProjectListing) }) }),
  createProject: spec({
    method: 'POST', path: '/api/projects', tag: 'projects', scope: 'admin', summary: 'Create a project', invalidCode: 'PROJECT_INVALID',
    body: Type.Object({ name: Type.String({ errorMessage: 'a project name (a string)' }), allowAutoCreate: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
    status: 201, response: S.Project,
  }),
  getProject: spec({ method: 'GET', path: '/api/projects/{name}', tag: 'projects', scope: 'read', summary: 'One project', params: Name, status: 200, response: S.Project }),
  setWebhookSecret: spec({
    method: 'PUT', path: '/api/projects/{name}/webhook-secret', tag: 'projects', scope: 'admin', summary: "Set the project's webhook secret", params: Name, invalidCode: 'SECRET_INVALID',
    body: Type.Object({ secret: Type.String({ minLength: 8, maxLength: 1000, errorMessage: 'a string of 8 characters or more' }) }, { additionalProperties: false }),
    status: 200, response: S.Ok,
  }),
  setCommitStatus: spec({
    method: 'PUT', path: '/api/projects/{name}/commit-status', tag: 'projects', scope: 'admin', params: Name, invalidCode: 'COMMIT_STATUS_INVALID',
    summary: 'Report run states to the forge; provider null turns it off. apiUrl may not be a link-local or metadata address.',
    body: Type.Object({ provider: Type.Union([S.Provider, Type.Null()]), token: Type.Optional(Type.String({ minLength: 1 })), apiUrl: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false }),
    status: 200, response: S.Ok,
  }),
  setRemote: spec({
    method: 'PUT', path: '/api/projects/{name}/remote', tag: 'projects', scope: 'admin', params: Name, invalidCode: 'REMOTE_INVALID',
    summary: "The forge repository webhook runs fetch from (https, http or ssh); null: the delivery's clone URL, on the forge's host",
    body: Type.Object({ url: Type.Union([Type.String({ maxLength: 2048 }), Type.Null()]) }, { additionalProperties: false }),
    status: 200, response: S.Ok,
  }),
  setPullRequests: spec({
    method: 'PUT', path: '/api/projects/{name}/pull-requests', tag: 'projects', scope: 'admin', params: Name, invalidCode: 'PULL_REQUESTS_INVALID',
    summary: "How the project's pull request runs are treated: secrets same-repository (the default: pull requests from the project's own repository get its secrets) or never; a fork's runs never get secrets or deploy",
    body: Type.Object({ secrets: S.PullRequestSecrets }, { additionalProperties: false }),
    status: 200, response: S.Ok,
  }),
  listSecrets: spec({ method: 'GET', path: '/api/projects/{name}/secrets', tag: 'secrets', scope: 'admin', summary: "The names of a project's secrets (never their values)", params: Name, status: 200, response: Type.Object({ names: Type.Array(Type.String()) }) }),
  setSecret: spec({
    method: 'PUT', path: '/api/projects/{name}/secrets/{secret}', tag: 'secrets', scope: 'admin', summary: 'Set a secret (encrypted at rest)', invalidCode: 'SECRET_INVALID',
    params: Type.Object({ name: ProjectName, secret: SecretName }),
    body: Type.Object({ value: Type.String({ maxLength: 64 * 1024, errorMessage: 'the value (a string of at most 64 KiB)' }) }, { additionalProperties: false }),
    status: 200, response: S.Ok,
  }),
  deleteSecret: spec({
    method: 'DELETE', path: '/api/projects/{name}/secrets/{secret}', tag: 'secrets', scope: 'admin', summary: 'Remove a secret', invalidCode: 'SECRET_INVALID',
    params: Type.Object({ name: ProjectName, secret: SecretName }), status: 200, response: S.Ok,
  }),
  startRun: spec({
    method: 'POST', path: '/api/projects/{name}/runs', tag: 'runs', scope: 'run', params: Name, invalidCode: 'RUN_REQUEST_INVALID',
    summary: 'Queue a manual run: the tip of branch (default: the default branch) or a commit; on.push filters do not apply',
    body: Type.Object({ branch: Type.Optional(Type.String({ maxLength: 200 })), commit: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }),
    status: 201, response: S.Run,
  }),

  listRuns: spec({
    method: 'GET', path: '/api/runs', tag: 'runs', scope: 'read', summary: 'Runs, newest first, a page at a time', invalidCode: 'FILTER_INVALID',
    query: Type.Object({
      project: Type.Optional(Type.String()),
      status: Type.Optional(S.RunState),
      branch: Type.Optional(Type.String()),
      event: Type.Optional(S.TriggerEvent),
      limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', errorMessage: 'limit is 1..500' })),
      cursor: Type.Optional(Type.String({ description: 'nextCursor of the previous page' })),
    }),
    status: 200, response: S.RunPage,
  }),
  changeEvents: spec({
    method: 'GET', path: '/api/events', tag: 'runs', scope: 'read', events: true,
    summary: 'What changes, as Server-Sent Events (Accept: text/event-stream; 406 otherwise): `run` {id} when a run or one of its jobs moves on (id "*": several), `environment` {app, environment} when a rollout starts or ends, `registry` {repository} when its tags or manifests change. The web UI reads its lists again on each; a replica tells what its own writes changed',
    status: 200, response: Type.Object({ id: Type.Optional(Type.String()), app: Type.Optional(Type.String()), environment: Type.Optional(Type.String()), repository: Type.Optional(Type.String()) }, { description: 'the data of one event' }),
  }),
  getRun: spec({ method: 'GET', path: '/api/runs/{id}', tag: 'runs', scope: 'read', summary: 'A run with its jobs and steps', params: Type.Object({ id: Id }), status: 200, response: S.RunDetail }),
  cancelRun: spec({ method: 'POST', path: '/api/runs/{id}/cancel', tag: 'runs', scope: 'run', summary: 'Cancel a queued, running or waiting run', params: Type.Object({ id: Id }), status: 202, response: S.Ok }),
  // scope 'read' lets a deploy:ENV token in; the handler asks for run, or for a deploy job deploy / deploy:ENV
  approveJob: spec({
    method: 'POST', path: '/api/runs/{id}/jobs/{job}/approve', tag: 'runs', scope: 'read', params: RunJob,
    summary: "Approve a job that waits for approval (when: manual): it starts. Needs run; a deploy job needs deploy or deploy:<its environment>. 409 when it does not wait",
    status: 200, response: S.Job,
  }),
  rejectJob: spec({
    method: 'POST', path: '/api/runs/{id}/jobs/{job}/reject', tag: 'runs', scope: 'read', params: RunJob, invalidCode: 'REJECT_INVALID',
    summary: 'Reject a job that waits for approval: it is skipped with the reason, and so are the jobs that need it. Same rights as approve',
    body: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000, errorMessage: 'a reason of at most 1000 characters' })) }, { additionalProperties: false }),
    status: 200, response: S.Job,
  }),
  rerun: spec({
    method: 'POST', path: '/api/runs/{id}/rerun', tag: 'runs', scope: 'run', params: Type.Object({ id: Id }), invalidCode: 'RERUN_INVALID',
    summary: 'Run again: every job (all), or only the jobs that did not pass (failed-jobs: the others are reused with their outputs and artifacts)',
    body: Type.Object({ mode: Type.Optional(Type.Union([Type.Literal('all'), Type.Literal('failed-jobs')], { errorMessage: '"all" (the default) or "failed-jobs"' })) }, { additionalProperties: false }),
    status: 201, response: S.Run,
  }),
  runLogs: spec({
    method: 'GET', path: '/api/runs/{id}/logs', tag: 'runs', scope: 'read', events: true, params: Type.Object({ id: Id }), query: Type.Object({ after: After }),
    summary: 'Log lines after `after`; with Accept: text/event-stream, live until the run ends (resumable with Last-Event-ID)',
    status: 200, response: Type.Object({ lines: Type.Array(S.LogLine) }),
  }),

  createToken: spec({
    method: 'POST', path: '/api/tokens', tag: 'tokens', scope: 'admin', summary: 'A new token; its secret is in this answer only', invalidCode: 'TOKEN_INVALID',
    body: Type.Object({ name: Type.String({ errorMessage: 'a name (what or who uses it)' }), scopes: Type.Array(S.TokenScope, { minItems: 1, maxItems: 32, errorMessage: '1 to 32 of read, run, deploy, admin, deploy:ENV' }) }, { additionalProperties: false }),
    status: 201, response: S.CreatedToken,
  }),
  listTokens: spec({ method: 'GET', path: '/api/tokens', tag: 'tokens', scope: 'admin', summary: 'Every token (never their secrets)', status: 200, response: Type.Object({ tokens: Type.Array(S.TokenInfo) }) }),
  revokeToken: spec({ method: 'DELETE', path: '/api/tokens/{id}', tag: 'tokens', scope: 'admin', summary: 'Revoke a token', params: Type.Object({ id: Id }), status: 200, response: S.Ok }),

  // the web UI's login: a browser trades a token for an HttpOnly session cookie (see docs/security.md)
  login: spec({
    method: 'POST', path: '/api/session', tag: 'session', invalidCode: 'LOGIN_INVALID',
    summary: "Log in with a token: 201 sets the session cookie slipway_session (HttpOnly, SameSite=Strict) acting with the token's scopes; 401 LOGIN_FAILED for a bad or revoked token",
    body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 1000, errorMessage: 'a token (a string of 1 to 1000 characters)' }) }, { additionalProperties: false }),
    status: 201, response: S.Session,
  }),
  getSession: spec({ method: 'GET', path: '/api/session', tag: 'session', scope: 'read', summary: 'Who the session cookie (or the Bearer token) is; 401 when it is no one', status: 200, response: S.Session }),
  logout: spec({ method: 'DELETE', path: '/api/session', tag: 'session', summary: 'Log out: the session ends on the server and its cookie is cleared', status: 200, response: S.Ok }),

  appRevisions: spec({
    method: 'GET', path: '/api/apps/{app}/revisions', tag: 'deploys', scope: 'read', summary: "An app's revisions, newest first", params: Type.Object({ app: Id }),
    query: Type.Object({ environment: Type.Optional(Type.String()) }), status: 200, response: Type.Object({ revisions: Type.Array(S.Revision), scaleEvents: Type.Optional(ScaleEvents) }),
  }),
  environmentRevisions: spec({
    method: 'GET', path: '/api/apps/{app}/environments/{env}/revisions', tag: 'deploys', scope: 'read', summary: "An environment's revisions, and its scale events", params: AppEnv,
    status: 200, response: Type.Object({ revisions: Type.Array(S.Revision), scaleEvents: Type.Optional(ScaleEvents) }),
  }),
  revisionDiff: spec({
    method: 'GET', path: '/api/apps/{app}/environments/{env}/revisions/diff', tag: 'deploys', scope: 'read', params: AppEnv, invalidCode: 'DIFF_INVALID',
    summary: 'What changes from revision `from` to revision `to` of an environment: the image (and digest), the deploy block path by path, and the commits between them (or why they are not known). 404 REVISION_NOT_FOUND for a revision the environment does not have',
    query: Type.Object({ from: RevisionNumber, to: RevisionNumber }),
    status: 200, response: S.RevisionDiff,
  }),
  status: spec({
    method: 'GET', path: '/api/status', tag: 'deploys', scope: 'read', summary: 'What is deployed where, with its health',
    query: Type.Object({ app: Type.Optional(Type.String()), environment: Type.Optional(Type.String()) }), status: 200, response: Type.Object({ environments: Type.Array(S.EnvironmentStatus) }),
  }),
  deploy: spec({
    method: 'POST', path: '/api/apps/{app}/environments/{env}/deploy', tag: 'deploys', scope: 'deploy', params: AppEnv, invalidCode: 'ROLLOUT_INVALID', bodyCheckedByHandler: true,
    summary: 'Start a rollout of an image (follow it at Location); one whose image digest and config equal the current revision\'s ends `unchanged`, adding no revision, unless `force` is true. `{"sync": true}` applies the current revision again instead, putting back what drifted from it (kubernetes; 422 for docker, 404 ROLLOUT_NO_REVISION for an environment serving none)',
    body: DeployBody, status: 202, response: S.Rollout,
  }),
  rollback: spec({
    method: 'POST', path: '/api/apps/{app}/environments/{env}/rollback', tag: 'deploys', scope: 'deploy', params: AppEnv, invalidCode: 'ROLLOUT_INVALID',
    summary: 'Roll back to a named healthy revision, or by default to the newest healthy one before the current that differs from it (image digest and config)',
    body: Type.Object({ to: Type.Optional(Type.Integer({ minimum: 1, errorMessage: 'a revision number (1 or more)' })) }, { additionalProperties: false }),
    status: 202, response: S.Rollout,
  }),
  scale: spec({
    method: 'POST', path: '/api/apps/{app}/environments/{env}/scale', tag: 'deploys', scope: 'deploy', params: AppEnv, invalidCode: 'ROLLOUT_INVALID',
    summary: "Set the replica count of the environment's current revision — no new revision, a scale event in its history, kept by self-healing and restarts; a later deploy keeps it unless its block changes replicas (docs/cli/scale.md). Follow it at Location like a rollout; it ends healthy once that many replicas serve. With autoscale, only a count within its min..max (422 otherwise). 404 ROLLOUT_NO_REVISION for an environment never deployed",
    body: Type.Object({ replicas: Type.Integer({ minimum: 0, maximum: MAX_REPLICAS, errorMessage: `a whole number of replicas from 0 to ${MAX_REPLICAS}` }) }, { additionalProperties: false }),
    status: 202, response: S.Rollout,
  }),
  promote: spec({
    method: 'POST', path: '/api/apps/{app}/promote', tag: 'deploys', scope: 'deploy', params: Type.Object({ app: Id }), invalidCode: 'ROLLOUT_INVALID',
    summary: "Roll out the current revision of environment `from` (same image reference and config) to environment `to`; needs deploy or deploy:TO. 409 PROMOTE_SOURCE_UNHEALTHY unless `from` serves a healthy, settled revision with every replica ready",
    body: Type.Object({ from: S.EnvironmentName, to: S.EnvironmentName }, { additionalProperties: false }),
    status: 202, response: S.Rollout,
  }),
  cancelRollout: spec({ method: 'POST', path: '/api/rollouts/{id}/cancel', tag: 'deploys', scope: 'deploy', summary: 'Cancel a rollout; the target restores the serving revision', params: Type.Object({ id: Id }), status: 202, response: S.Rollout }),
  getRollout: spec({
    method: 'GET', path: '/api/rollouts/{id}', tag: 'deploys', scope: 'read', events: true, params: Type.Object({ id: Id }), query: Type.Object({ after: After }),
    summary: 'A rollout and its progress lines; with Accept: text/event-stream, live until it ends', status: 200, response: S.Rollout,
  }),
  dora: spec({
    method: 'GET', path: '/api/dora', tag: 'metrics', scope: 'read', summary: 'DORA metrics of an environment', invalidCode: 'FILTER_INVALID',
    query: Type.Object({ days: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}(\\.[0-9]+)?$', errorMessage: 'days is 1..3650' })), project: Type.Optional(Type.String()), environment: Type.Optional(Type.String()) }),
    status: 200, response: S.Dora,
  }),

  // repository names hold slashes: they go in the query, not the path
  listRepositories: spec({ method: 'GET', path: '/api/registry/repositories', tag: 'registry', scope: 'read', summary: "The registry's repositories with their tag counts (1000 at most)", status: 200, response: S.RegistryRepositories }),
  listRegistryTags: spec({
    method: 'GET', path: '/api/registry/tags', tag: 'registry', scope: 'read', invalidCode: 'REGISTRY_QUERY_INVALID',
    summary: "A repository's tags, newest tagged first: digest, size, created time, platforms, and the environments whose current revision runs that digest. 404 REGISTRY_NAME_UNKNOWN for a repository the registry does not have",
    query: Type.Object({ repository: RepositoryName, limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', errorMessage: 'limit is 1..1000' })) }),
    status: 200, response: S.RegistryTagList,
  }),
  deleteRegistryTag: spec({
    method: 'DELETE', path: '/api/registry/tags', tag: 'registry', scope: 'admin', invalidCode: 'REGISTRY_QUERY_INVALID',
    summary: 'Delete a tag: the name only — the manifest stays pullable by digest and its blobs stay until `slipway registry gc`. Answers the digest it pointed at; 404 REGISTRY_TAG_UNKNOWN',
    query: Type.Object({ repository: RepositoryName, tag: RegistryTagName }),
    status: 200, response: Type.Object({ ok: Type.Literal(true), repository: Type.String(), tag: Type.String(), digest: Type.String() }),
  }),
} as const;

export type Routes = typeof routes;
export type RouteName = keyof Routes;

type StaticOr<T, Otherwise> = T extends TSchema ? Static<T> : Otherwise;
export type ParamsOf<N extends RouteName> = StaticOr<Routes[N] extends { params: infer P } ? P : undefined, Record<string, never>>;
export type QueryOf<N extends RouteName> = StaticOr<Routes[N] extends { query: infer Q } ? Q : undefined, Record<string, never>>;
export type BodyOf<N extends RouteName> = StaticOr<Routes[N] extends { body: infer B } ? B : undefined, undefined>;
export type ResponseOf<N extends RouteName> = Static<Routes[N]['response']>;
