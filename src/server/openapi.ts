// The API's OpenAPI 3.1 description, served at /api/openapi.json.
import { TOKEN_SCOPES } from '../store/types.js';

const error = { $ref: '#/components/schemas/Error' };
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const ok = (description: string, schema: object = { type: 'object' }) => ({ description, ...json(schema) });
const errors = { '401': ok('no or bad token', error), '403': ok('the token lacks the scope', error), '404': ok('not found', error) };
const invalid = ok('bad input: every problem named by its field; nothing was changed', error);
const duration = (description: string) => ({ type: 'string', pattern: '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$', description: `${description} A Go-style duration: 500ms, 10s, 1m30s.` });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export function openApiDocument(): object {
  return {
    openapi: '3.1.0',
    info: { title: 'Slipway API', version: '1', description: 'Runs, projects, tokens and metrics of a Slipway server. Auth: `Authorization: Bearer <token>`.' },
    components: {
      securitySchemes: { token: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } } },
        Run: { type: 'object', properties: { id: { type: 'string' }, number: { type: 'integer' }, status: { enum: ['queued', 'running', 'success', 'failure', 'cancelled', 'interrupted'] }, trigger: { type: 'object' } } },
        DeployRequest: {
          type: 'object',
          description: "The deploy block of slipway.yaml without environment (the URL names it) and without kubernetes.manifests. Unknown fields are refused.",
          additionalProperties: false,
          required: ['image'],
          properties: {
            image: { type: 'string', description: 'The image reference to roll out.' },
            target: { enum: ['docker', 'kubernetes'], default: 'docker' },
            replicas: { type: 'integer', minimum: 1, maximum: 1000, default: 1 },
            port: { type: 'integer', minimum: 1, maximum: 65535, default: 8080, description: "The app's port in its container." },
            publish: { type: 'integer', minimum: 1, maximum: 65535, description: "docker target: the proxy's host port (default: chosen once, kept)." },
            health: {
              type: 'object',
              additionalProperties: false,
              description: 'One of path, tcp, cmd (default: tcp).',
              properties: {
                path: { type: 'string', pattern: '^/' },
                tcp: { const: true },
                cmd: { type: 'string', minLength: 1 },
                interval: duration('Time between checks (default 1s).'),
                timeout: duration('Time a check may take (default 5s).'),
                healthy: { type: 'integer', minimum: 1, maximum: 100, default: 2 },
                unhealthy: { type: 'integer', minimum: 1, maximum: 100, default: 3 },
                startPeriod: duration('Failures in this time after start do not count (default 0s).'),
              },
            },
            strategy: {
              type: 'object',
              additionalProperties: false,
              properties: {
                maxSurge: { type: 'integer', minimum: 0, maximum: 1000, default: 1 },
                maxUnavailable: { type: 'integer', minimum: 0, maximum: 1000, default: 0 },
                progressDeadline: duration('Roll back when the rollout makes no progress this long (default 60s).'),
                autoRollback: { type: 'boolean', default: true },
              },
            },
            kubernetes: { type: 'object', additionalProperties: false, properties: { namespace: { type: 'string', default: 'default' } } },
          },
        },
        Revision: {
          type: 'object',
          description: 'One rollout of an app to an environment, as its target keeps it.',
          properties: {
            app: { type: 'string' },
            environment: { type: 'string' },
            target: { enum: ['docker', 'kubernetes'] },
            number: { type: 'integer' },
            image: { type: 'string' },
            config: { type: 'object' },
            trigger: { type: 'object', properties: { kind: { enum: ['pipeline', 'deploy', 'rollback'] }, by: { type: 'string' }, runId: { type: 'string' }, commit: { type: 'string' } } },
            restoredFrom: { type: 'integer' },
            createdAt: { type: 'string', format: 'date-time' },
            finishedAt: { type: 'string', format: 'date-time' },
            outcome: { enum: ['in-progress', 'healthy', 'failed', 'rolled-back'] },
            reason: { type: 'string' },
          },
        },
        EnvironmentStatus: {
          type: 'object',
          properties: {
            app: { type: 'string' },
            environment: { type: 'string' },
            target: { enum: ['docker', 'kubernetes'] },
            current: ref('Revision'),
            endpoint: { type: 'string' },
            replicas: { type: 'object', properties: { desired: { type: 'integer' }, ready: { type: 'integer' }, updated: { type: 'integer' } } },
            message: { type: 'string' },
            replicaList: { type: 'array', description: 'docker target: every replica container with its state', items: { type: 'object' } },
          },
        },
        Rollout: {
          type: 'object',
          description: 'A deploy or rollback started through the API. status is in-progress until outcome (the revision and why it failed) or error is set.',
          properties: {
            id: { type: 'string' },
            kind: { enum: ['deploy', 'rollback'] },
            app: { type: 'string' },
            environment: { type: 'string' },
            target: { enum: ['docker', 'kubernetes'] },
            image: { type: 'string' },
            to: { type: 'integer' },
            by: { type: 'string' },
            status: { enum: ['in-progress', 'healthy', 'failed', 'rolled-back', 'error'] },
            createdAtMs: { type: 'integer' },
            finishedAtMs: { type: 'integer' },
            outcome: { type: 'object', properties: { revision: ref('Revision'), outcome: { enum: ['healthy', 'failed', 'rolled-back'] }, reason: { type: 'string' } } },
            endpoint: { type: 'string' },
            error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
            lineCount: { type: 'integer' },
            cancelledBy: { type: 'string', description: 'the token that cancelled it while it was in progress' },
            lines: { type: 'array', items: { type: 'object', properties: { seq: { type: 'integer' }, atMs: { type: 'integer' }, line: { type: 'string' } } } },
          },
        },
      },
    },
    security: [{ token: [] }],
    paths: {
      '/api/projects': {
        get: { summary: 'List projects (read)', responses: { '200': ok('projects'), ...errors } },
        post: { summary: 'Create a project (admin)', requestBody: json({ type: 'object', properties: { name: { type: 'string' }, allowAutoCreate: { type: 'boolean' } }, required: ['name'] }), responses: { '201': ok('created'), '409': ok('exists', error), ...errors } },
      },
      '/api/projects/{name}': { get: { summary: 'A project (read)', responses: { '200': ok('project'), ...errors } } },
      '/api/projects/{name}/commit-status': { put: { summary: 'Report run states to the forge (admin); provider null turns it off. apiUrl may not be a link-local or metadata address.', requestBody: json({ type: 'object', properties: { provider: { type: ['string', 'null'], enum: ['github', 'gitea', 'gitlab', null] }, token: { type: 'string' }, apiUrl: { type: 'string', format: 'uri' } } }), responses: { '200': ok('set'), ...errors } } },
      '/api/projects/{name}/remote': { put: { summary: "The forge repository webhook runs fetch from (admin): an https, http or ssh URL; deliveries must then name a clone URL on its host. null: the delivery's clone URL, on the forge's host.", requestBody: json({ type: 'object', required: ['url'], properties: { url: { type: ['string', 'null'] } } }), responses: { '200': ok('set'), ...errors } } },
      '/api/projects/{name}/webhook-secret': { put: { summary: "Set the project's webhook secret (admin)", requestBody: json({ type: 'object', properties: { secret: { type: 'string', minLength: 8 } } }), responses: { '200': ok('set'), ...errors } } },
      '/api/projects/{name}/secrets': { get: { summary: 'Names of the project secrets (admin)', responses: { '200': ok('names'), ...errors } } },
      '/api/projects/{name}/secrets/{secret}': { put: { summary: 'Set a secret, stored encrypted (admin)', requestBody: json({ type: 'object', properties: { value: { type: 'string' } } }), responses: { '200': ok('set'), ...errors } } },
      '/api/projects/{name}/runs': {
        post: {
          summary: 'Start a manual run of the project: the tip of branch (default: the default branch), or a commit; on.push filters do not apply (run)',
          requestBody: json({ type: 'object', additionalProperties: false, properties: { branch: { type: 'string' }, commit: { type: 'string', pattern: '^[0-9a-f]{4,40}$' } } }),
          responses: { '201': ok('the queued run (Location: /api/runs/ID)', ref('Run')), '422': ok('bad body, unknown branch or commit, or no slipway.yaml there', error), ...errors },
        },
      },
      '/api/runs': { get: { summary: 'Runs, newest first, paged by cursor (read)', parameters: ['project', 'status', 'branch', 'limit', 'cursor'].map((name) => ({ name, in: 'query', schema: { type: 'string' } })), responses: { '200': ok('a page of runs', { type: 'object', properties: { runs: { type: 'array', items: { $ref: '#/components/schemas/Run' } }, nextCursor: { type: 'string' } } }), ...errors } } },
      '/api/runs/{id}': { get: { summary: 'A run with its jobs and steps (read)', responses: { '200': ok('run', { $ref: '#/components/schemas/Run' }), ...errors } } },
      '/api/runs/{id}/cancel': { post: { summary: 'Cancel a queued or running run (run)', responses: { '202': ok('cancelling'), '409': ok('already finished', error), ...errors } } },
      '/api/runs/{id}/rerun': { post: { summary: 'Run again: all jobs, or only the failed ones reusing the outputs of those that passed (run)', requestBody: json({ type: 'object', properties: { mode: { enum: ['all', 'failed-jobs'] } } }), responses: { '201': ok('the new run'), ...errors } } },
      '/api/runs/{id}/logs': { get: { summary: 'Log lines after a sequence number; with Accept: text/event-stream, Server-Sent Events live until the run ends, resumable with Last-Event-ID (read)', parameters: [{ name: 'after', in: 'query', schema: { type: 'integer' } }], responses: { '200': ok('lines'), ...errors } } },
      '/api/tokens': {
        get: { summary: 'Tokens, without their secrets (admin)', responses: { '200': ok('tokens'), ...errors } },
        post: { summary: 'Create a token; the secret is in this answer only (admin)', requestBody: json({ type: 'object', properties: { name: { type: 'string' }, scopes: { type: 'array', items: { enum: [...TOKEN_SCOPES] } } } }), responses: { '201': ok('token with secret'), ...errors } },
      },
      '/api/tokens/{id}': { delete: { summary: 'Revoke a token (admin)', responses: { '200': ok('revoked'), ...errors } } },
      '/api/apps/{app}/revisions': {
        get: { summary: "Revisions of an app in every environment (or ?environment=), oldest first: what `slipway history` shows (read)", parameters: [{ name: 'environment', in: 'query', schema: { type: 'string' } }], responses: { '200': ok('revisions', { type: 'object', properties: { revisions: { type: 'array', items: ref('Revision') } } }), '422': invalid, ...errors } },
      },
      '/api/apps/{app}/environments/{env}/revisions': {
        get: { summary: 'Revisions of one environment, oldest first (read)', responses: { '200': ok('revisions', { type: 'object', properties: { revisions: { type: 'array', items: ref('Revision') } } }), '422': invalid, ...errors } },
      },
      '/api/status': {
        get: {
          summary: 'What is deployed where: environments, current revision, image, endpoint, replicas ready of desired (read)',
          parameters: ['app', 'environment'].map((name) => ({ name, in: 'query', schema: { type: 'string' } })),
          responses: { '200': ok('environments', { type: 'object', properties: { environments: { type: 'array', items: ref('EnvironmentStatus') } } }), '422': invalid, ...errors },
        },
      },
      '/api/apps/{app}/environments/{env}/deploy': {
        post: {
          summary: 'Start a rollout of an image; follow it at the Location (GET /api/rollouts/{id}, or its Server-Sent Events) (deploy)',
          requestBody: json(ref('DeployRequest')),
          responses: { '202': ok('the rollout, started', ref('Rollout')), '409': ok('another rollout of this environment is going on', error), '422': invalid, ...errors },
        },
      },
      '/api/apps/{app}/environments/{env}/rollback': {
        post: {
          summary: 'Start a rollback to revision `to` (default: the newest healthy revision before the current one); followed like a deploy (deploy)',
          requestBody: json({ type: 'object', additionalProperties: false, properties: { to: { type: 'integer', minimum: 1 } } }),
          responses: { '202': ok('the rollout, started', ref('Rollout')), '404': ok('the environment was never deployed (ROLLOUT_NO_REVISION)', error), '409': ok('another rollout of this environment is going on', error), '422': invalid, '401': errors['401'], '403': errors['403'] },
        },
      },
      '/api/rollouts/{id}': {
        get: {
          summary: "A rollout with its progress lines after ?after=N; with Accept: text/event-stream, Server-Sent Events: `progress` (id = line number, resumable with Last-Event-ID), then `end` with the rollout (read). Kept in the server's memory for an hour after it ends",
          parameters: [{ name: 'after', in: 'query', schema: { type: 'integer' } }],
          responses: { '200': ok('the rollout', ref('Rollout')), ...errors },
        },
      },
      '/api/rollouts/{id}/cancel': {
        post: {
          summary: 'Cancel a rollout in progress: the target stops it and restores the revision that served before; the rollout then ends with that outcome (deploy)',
          responses: { '202': ok('cancelling; follow the rollout for its outcome', ref('Rollout')), '404': ok('no such rollout on this server (ROLLOUT_NOT_FOUND)', error), '409': ok('the rollout has already ended (ROLLOUT_NOT_CANCELLABLE)', error), '401': errors['401'], '403': errors['403'] },
        },
      },
      '/api/dora': { get: { summary: 'DORA metrics over a window (read)', parameters: ['project', 'environment', 'days'].map((name) => ({ name, in: 'query', schema: { type: 'string' } })), responses: { '200': ok('metrics'), ...errors } } },
      '/hooks/{provider}/{project}': { post: { summary: 'Webhook from github, gitea (Forgejo) or gitlab for a project (also /hooks/{provider}?project=NAME). The signature is checked before the body is read; 2xx means persisted.', security: [], responses: { '202': ok('runs queued'), '200': ok('ping, duplicate (same delivery id, or the same body within 7 days) or ignored event'), '400': ok('a malformed payload or ref', error), '401': ok('unsigned, badly signed, or no such project (one answer for all three)', error), '422': ok('a clone URL that may not be fetched', error), '503': ok('too many unverified bodies at once', error) } } },
      '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': ok('ok') } } },
      '/metrics': { get: { summary: 'Prometheus metrics', security: [], responses: { '200': { description: 'text exposition format' } } } },
    },
  };
}
