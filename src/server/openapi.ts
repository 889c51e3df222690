// The API's OpenAPI 3.1 description, served at /api/openapi.json.
const error = { $ref: '#/components/schemas/Error' };
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const ok = (description: string, schema: object = { type: 'object' }) => ({ description, ...json(schema) });
const errors = { '401': ok('no or bad token', error), '403': ok('the token lacks the scope', error), '404': ok('not found', error) };

export function openApiDocument(): object {
  return {
    openapi: '3.1.0',
    info: { title: 'Slipway API', version: '1', description: 'Runs, projects, tokens and metrics of a Slipway server. Auth: `Authorization: Bearer <token>`.' },
    components: {
      securitySchemes: { token: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } } },
        Run: { type: 'object', properties: { id: { type: 'string' }, number: { type: 'integer' }, status: { enum: ['queued', 'running', 'success', 'failure', 'cancelled', 'interrupted'] }, trigger: { type: 'object' } } },
      },
    },
    security: [{ token: [] }],
    paths: {
      '/api/projects': {
        get: { summary: 'List projects (read)', responses: { '200': ok('projects'), ...errors } },
        post: { summary: 'Create a project (admin)', requestBody: json({ type: 'object', properties: { name: { type: 'string' }, allowAutoCreate: { type: 'boolean' } }, required: ['name'] }), responses: { '201': ok('created'), '409': ok('exists', error), ...errors } },
      },
      '/api/projects/{name}': { get: { summary: 'A project (read)', responses: { '200': ok('project'), ...errors } } },
      '/api/projects/{name}/webhook-secret': { put: { summary: "Set the project's webhook secret (admin)", requestBody: json({ type: 'object', properties: { secret: { type: 'string', minLength: 8 } } }), responses: { '200': ok('set'), ...errors } } },
      '/api/projects/{name}/secrets': { get: { summary: 'Names of the project secrets (admin)', responses: { '200': ok('names'), ...errors } } },
      '/api/projects/{name}/secrets/{secret}': { put: { summary: 'Set a secret, stored encrypted (admin)', requestBody: json({ type: 'object', properties: { value: { type: 'string' } } }), responses: { '200': ok('set'), ...errors } } },
      '/api/runs': { get: { summary: 'Runs, newest first, paged by cursor (read)', parameters: ['project', 'status', 'branch', 'limit', 'cursor'].map((name) => ({ name, in: 'query', schema: { type: 'string' } })), responses: { '200': ok('a page of runs', { type: 'object', properties: { runs: { type: 'array', items: { $ref: '#/components/schemas/Run' } }, nextCursor: { type: 'string' } } }), ...errors } } },
      '/api/runs/{id}': { get: { summary: 'A run with its jobs and steps (read)', responses: { '200': ok('run', { $ref: '#/components/schemas/Run' }), ...errors } } },
      '/api/runs/{id}/cancel': { post: { summary: 'Cancel a queued or running run (run)', responses: { '202': ok('cancelling'), '409': ok('already finished', error), ...errors } } },
      '/api/runs/{id}/rerun': { post: { summary: 'Run again: all jobs, or only the failed ones reusing the outputs of those that passed (run)', requestBody: json({ type: 'object', properties: { mode: { enum: ['all', 'failed-jobs'] } } }), responses: { '201': ok('the new run'), ...errors } } },
      '/api/runs/{id}/logs': { get: { summary: 'Log lines after a sequence number; with Accept: text/event-stream, Server-Sent Events live until the run ends, resumable with Last-Event-ID (read)', parameters: [{ name: 'after', in: 'query', schema: { type: 'integer' } }], responses: { '200': ok('lines'), ...errors } } },
      '/api/tokens': {
        get: { summary: 'Tokens, without their secrets (admin)', responses: { '200': ok('tokens'), ...errors } },
        post: { summary: 'Create a token; the secret is in this answer only (admin)', requestBody: json({ type: 'object', properties: { name: { type: 'string' }, scopes: { type: 'array', items: { enum: ['read', 'run', 'deploy', 'admin'] } } } }), responses: { '201': ok('token with secret'), ...errors } },
      },
      '/api/tokens/{id}': { delete: { summary: 'Revoke a token (admin)', responses: { '200': ok('revoked'), ...errors } } },
      '/api/dora': { get: { summary: 'DORA metrics over a window (read)', parameters: ['project', 'environment', 'days'].map((name) => ({ name, in: 'query', schema: { type: 'string' } })), responses: { '200': ok('metrics'), ...errors } } },
      '/hooks/{provider}': { post: { summary: 'Webhook from github, gitea (Forgejo) or gitlab; ?project=NAME picks the project (default: the repository name). 2xx means persisted.', security: [], responses: { '202': ok('runs queued'), '200': ok('ping, duplicate or ignored event'), '401': ok('bad or missing signature', error) } } },
      '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': ok('ok') } } },
      '/metrics': { get: { summary: 'Prometheus metrics', security: [], responses: { '200': { description: 'text exposition format' } } } },
    },
  };
}
