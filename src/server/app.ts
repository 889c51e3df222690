// The server's HTTP surface in one place: /healthz, /metrics, the registry at /v2/, git hosting at
// /git/, webhooks at /hooks/<provider>, and the JSON API at /api/ (token auth, SSE for live logs).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { Registry } from '../registry/index.js';
import type { EnqueueRun, Project, RunState, Store, StoreErrorCode, TokenScope } from '../store/types.js';
import { StoreError, TOKEN_SCOPES } from '../store/types.js';
import { isRunCursor, projectNameProblem, tokenNameProblem } from '../store/index.js';
import { isSafeRef, remoteUrlProblem } from '../git/index.js';
import { forgeUrlProblem, webhookRemote } from './webhook-remote.js';
import { commitStatusApiUrlProblem } from './commit-status.js';
import type { GitHosting } from './git.js';
import { authenticate, ByteBudget, decodePathParam, HttpError, readBody, readJson, requestUrl, sendError, sendJson } from './http.js';
import type { Runner } from './runner.js';
import { hasWebhookSignature, PROVIDERS, parseWebhook, verifyWebhook, WebhookError, type Provider, type Push } from './webhooks.js';
import { openApiDocument } from './openapi.js';
import { Metrics } from './metrics.js';
import { DeployError, type TargetFactory } from '../deploy/index.js';
import { Deployments, httpStatusOf, RolloutConflict, RolloutNotCancellable, type Rollout, type RolloutView } from './deployments.js';
import { repositoryPath } from './git.js';
import { ManualRunError, planManualRun } from './triggers.js';

export interface AppContext {
  store: Store;
  runner: Runner;
  git: GitHosting;
  registry: Registry;
  metrics: Metrics;
  /** the remote-fetching resolution of webhook runs is the runner's; this only queues */
  log: (message: string) => void;
  /** the bare repositories of the projects, which manual runs are planned from */
  reposDir: string;
  /** the server's deploy targets (the runs' own) and the folder they keep revisions in */
  deployTargets: TargetFactory;
  deployDataDir: string;
}

const WEBHOOK_LIMIT_BYTES = 25 * 1024 * 1024;
/** Webhook bodies read before their signature is checked, all requests together. */
const UNVERIFIED_WEBHOOK_BYTES = 64 * 1024 * 1024;
const RUN_STATES: readonly RunState[] = ['queued', 'running', 'success', 'failure', 'cancelled', 'interrupted'];

type Handler = (req: IncomingMessage, res: ServerResponse, params: string[], url: URL) => Promise<void>;

export function createApp(ctx: AppContext): (req: IncomingMessage, res: ServerResponse) => void {
  const { store, runner } = ctx;
  const routes: Array<[string, RegExp, Handler]> = [];
  const route = (method: string, pattern: RegExp, handler: Handler): void => void routes.push([method, pattern, handler]);

  // names and ids arrive decoded (path parameters by the router, query values by URLSearchParams)
  const projectOf = async (name: string) => {
    const project = await store.getProject(name);
    if (!project) throw new HttpError(404, 'PROJECT_NOT_FOUND', `no project ${JSON.stringify(name.slice(0, 100))}`);
    return project;
  };
  const runOf = async (id: string) => {
    const run = await store.getRunDetail(id);
    if (!run) throw new HttpError(404, 'RUN_NOT_FOUND', `no run ${JSON.stringify(id.slice(0, 100))}`);
    return run;
  };

  const deployments = new Deployments({ store, targets: ctx.deployTargets, dataDir: ctx.deployDataDir, log: ctx.log });
  /** Rollout failures known before anything changed become JSON errors with their stable codes. */
  const rolloutCall = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (err instanceof DeployError) throw new HttpError(httpStatusOf(err), err.code, err.message);
      if (err instanceof RolloutConflict) throw new HttpError(409, 'ROLLOUT_IN_PROGRESS', err.message);
      if (err instanceof RolloutNotCancellable) throw new HttpError(409, 'ROLLOUT_NOT_CANCELLABLE', err.message);
      throw err;
    }
  };

  route('GET', /^\/api\/openapi\.json$/, async (_req, res) => sendJson(res, 200, openApiDocument()));

  route('GET', /^\/api\/projects$/, async (req, res) => {
    await authenticate(store, req, 'read');
    sendJson(res, 200, { projects: await store.listProjects() });
  });
  route('POST', /^\/api\/projects$/, async (req, res) => {
    const token = await authenticate(store, req, 'admin');
    const body = await readJson(req);
    if (typeof body.name !== 'string') throw new HttpError(422, 'PROJECT_INVALID', 'name (a string) is required');
    const problem = projectNameProblem(body.name);
    if (problem) throw new HttpError(422, 'PROJECT_INVALID', problem);
    if (await store.getProject(body.name)) throw new HttpError(409, 'PROJECT_EXISTS', `project '${body.name}' exists`);
    const project = await store.createProject({ name: body.name, allowAutoCreate: body.allowAutoCreate === true });
    await store.appendAudit({ actor: token.name, action: 'project.create', subject: project.name });
    sendJson(res, 201, project);
  });
  route('GET', /^\/api\/projects\/([^/]+)$/, async (req, res, [name]) => {
    await authenticate(store, req, 'read');
    sendJson(res, 200, await projectOf(name!));
  });
  route('PUT', /^\/api\/projects\/([^/]+)\/webhook-secret$/, async (req, res, [name]) => {
    const token = await authenticate(store, req, 'admin');
    const project = await projectOf(name!);
    const body = await readJson(req);
    if (typeof body.secret !== 'string' || body.secret.length < 8) throw new HttpError(422, 'SECRET_INVALID', 'secret: a string of 8 characters or more');
    await store.updateProjectSettings(project.id, { webhookSecret: body.secret });
    await store.appendAudit({ actor: token.name, action: 'project.webhook-secret', subject: project.name });
    sendJson(res, 200, { ok: true });
  });
  route('PUT', /^\/api\/projects\/([^/]+)\/commit-status$/, async (req, res, [name]) => {
    const token = await authenticate(store, req, 'admin');
    const project = await projectOf(name!);
    const body = await readJson(req);
    if (body.provider === null) {
      await store.updateProjectSettings(project.id, { commitStatus: null });
      return sendJson(res, 200, { ok: true });
    }
    const provider = body.provider;
    if ((provider !== 'github' && provider !== 'gitea' && provider !== 'gitlab') || typeof body.token !== 'string' || body.token.length === 0) {
      throw new HttpError(422, 'COMMIT_STATUS_INVALID', 'provider (github, gitea or gitlab) and token are required; provider null turns reporting off');
    }
    if (body.apiUrl !== undefined && typeof body.apiUrl !== 'string') throw new HttpError(422, 'COMMIT_STATUS_INVALID', 'apiUrl must be an http(s) URL');
    const apiUrlProblem = typeof body.apiUrl === 'string' ? commitStatusApiUrlProblem(body.apiUrl) : undefined;
    if (apiUrlProblem) throw new HttpError(422, 'COMMIT_STATUS_INVALID', `apiUrl: ${apiUrlProblem}`);
    if (provider !== 'github' && body.apiUrl === undefined) throw new HttpError(422, 'COMMIT_STATUS_INVALID', `${provider} needs apiUrl, the base URL of the server`);
    await store.updateProjectSettings(project.id, { commitStatus: { provider, token: body.token, ...(typeof body.apiUrl === 'string' ? { apiUrl: body.apiUrl } : {}) } });
    await store.appendAudit({ actor: token.name, action: 'project.commit-status', subject: project.name });
    sendJson(res, 200, { ok: true });
  });
  route('PUT', /^\/api\/projects\/([^/]+)\/remote$/, async (req, res, [name]) => {
    const token = await authenticate(store, req, 'admin');
    const project = await projectOf(name!);
    const body = await readJson(req);
    if (body.url !== null && typeof body.url !== 'string') throw new HttpError(422, 'REMOTE_INVALID', 'url: the forge repository\'s https, http or ssh clone URL, or null');
    const problem = typeof body.url === 'string' ? (remoteUrlProblem(body.url) ?? forgeUrlProblem(body.url)) : undefined;
    if (problem) throw new HttpError(422, 'REMOTE_INVALID', `url: ${problem}`);
    await store.updateProjectSettings(project.id, { remoteUrl: body.url as string | null });
    await store.appendAudit({ actor: token.name, action: 'project.remote', subject: project.name, details: { url: body.url } });
    sendJson(res, 200, { ok: true });
  });
  route('GET', /^\/api\/projects\/([^/]+)\/secrets$/, async (req, res, [name]) => {
    await authenticate(store, req, 'admin');
    sendJson(res, 200, { names: await store.listSecretNames((await projectOf(name!)).id) });
  });
  route('PUT', /^\/api\/projects\/([^/]+)\/secrets\/([A-Z_][A-Z0-9_]*)$/, async (req, res, [name, secret]) => {
    const token = await authenticate(store, req, 'admin');
    const project = await projectOf(name!);
    const body = await readJson(req);
    if (typeof body.value !== 'string') throw new HttpError(422, 'SECRET_INVALID', 'value (a string) is required');
    await store.setSecret(project.id, secret!, body.value);
    await store.appendAudit({ actor: token.name, action: 'secret.set', subject: `${project.name}/${secret}` });
    sendJson(res, 200, { ok: true });
  });

  route('POST', /^\/api\/projects\/([^/]+)\/runs$/, async (req, res, [name]) => {
    const token = await authenticate(store, req, 'run');
    const project = await projectOf(name!);
    const body = await readJson(req);
    const unknown = Object.keys(body).filter((key) => key !== 'branch' && key !== 'commit');
    if (unknown.length > 0) throw new HttpError(422, 'RUN_REQUEST_INVALID', `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (expected branch, commit)`);
    for (const key of ['branch', 'commit'] as const) {
      if (body[key] !== undefined && typeof body[key] !== 'string') throw new HttpError(422, 'RUN_REQUEST_INVALID', `${key}: a string, not ${JSON.stringify(body[key])}`);
    }
    let planned;
    try {
      planned = await planManualRun(repositoryPath(ctx.reposDir, project.name), project, { ...(typeof body.branch === 'string' ? { branch: body.branch } : {}), ...(typeof body.commit === 'string' ? { commit: body.commit } : {}) }, token.name);
    } catch (err) {
      if (err instanceof ManualRunError) throw new HttpError(422, err.code, err.message);
      throw err;
    }
    const run = await store.enqueueRun(planned);
    await store.appendAudit({ actor: token.name, action: 'run.start', subject: run.id, details: { project: project.name, branch: run.trigger.branch, commit: run.trigger.commit } });
    runner.wake();
    sendJson(res, 201, run, { Location: `/api/runs/${run.id}` });
  });

  route('GET', /^\/api\/runs$/, async (req, res, _p, url) => {
    await authenticate(store, req, 'read');
    const projectName = url.searchParams.get('project');
    const status = url.searchParams.get('status');
    if (status && !RUN_STATES.includes(status as RunState)) throw new HttpError(422, 'FILTER_INVALID', `status is one of ${RUN_STATES.join(', ')}`);
    const limit = url.searchParams.has('limit') ? Number(url.searchParams.get('limit')) : undefined;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 500)) throw new HttpError(422, 'FILTER_INVALID', 'limit is 1..500');
    const cursor = url.searchParams.get('cursor');
    if (cursor && !isRunCursor(cursor)) throw new HttpError(422, 'FILTER_INVALID', 'cursor: not a page cursor this server gave (use nextCursor of the previous page)');
    const page = await store.listRuns({
      ...(projectName ? { projectId: (await projectOf(projectName)).id } : {}),
      ...(status ? { status: status as RunState } : {}),
      ...(url.searchParams.get('branch') ? { branch: url.searchParams.get('branch')! } : {}),
      ...(limit ? { limit } : {}),
      ...(cursor ? { cursor } : {}),
    });
    sendJson(res, 200, page);
  });
  route('GET', /^\/api\/runs\/([^/]+)$/, async (req, res, [id]) => {
    await authenticate(store, req, 'read');
    sendJson(res, 200, await runOf(id!));
  });
  route('POST', /^\/api\/runs\/([^/]+)\/cancel$/, async (req, res, [id]) => {
    const token = await authenticate(store, req, 'run');
    const run = await runOf(id!);
    if (run.status === 'queued') await store.updateRunStatus(run.id, 'cancelled', { reason: `cancelled by ${token.name}` });
    else if (run.status !== 'running' || !runner.cancel(run.id)) throw new HttpError(409, 'RUN_NOT_CANCELLABLE', `run ${run.id} is ${run.status}`);
    await store.appendAudit({ actor: token.name, action: 'run.cancel', subject: run.id });
    sendJson(res, 202, { ok: true });
  });
  route('POST', /^\/api\/runs\/([^/]+)\/rerun$/, async (req, res, [id]) => {
    const token = await authenticate(store, req, 'run');
    const run = await runOf(id!);
    const body = await readJson(req);
    if (body.mode !== undefined && body.mode !== 'all' && body.mode !== 'failed-jobs') throw new HttpError(422, 'RERUN_INVALID', 'mode: "all" (the default) or "failed-jobs"');
    const mode = body.mode === 'failed-jobs' ? 'failed-jobs' : 'all';
    if (mode === 'failed-jobs' && !['failure', 'cancelled', 'interrupted'].includes(run.status)) {
      throw new HttpError(409, 'RERUN_NOTHING_FAILED', `run ${run.id} is ${run.status}; re-running only failed jobs needs a failed, cancelled or interrupted run`);
    }
    const next = await store.rerun(run.id, mode, token.name);
    runner.wake();
    sendJson(res, 201, next);
  });
  route('GET', /^\/api\/runs\/([^/]+)\/logs$/, async (req, res, [id], url) => {
    await authenticate(store, req, 'read');
    const run = await runOf(id!);
    const after = Number(req.headers['last-event-id'] ?? url.searchParams.get('after') ?? '0') || 0;
    if ((req.headers.accept ?? '').includes('text/event-stream')) return streamLogs(ctx, req, res, run.id, after);
    sendJson(res, 200, { lines: await store.readLogs(run.id, { afterSeq: after, limit: 10_000 }) });
  });

  route('POST', /^\/api\/tokens$/, async (req, res) => {
    const token = await authenticate(store, req, 'admin');
    const body = await readJson(req);
    const scopes = Array.isArray(body.scopes) ? body.scopes : [];
    if (typeof body.name !== 'string' || scopes.length === 0 || !scopes.every((s) => TOKEN_SCOPES.includes(s as TokenScope))) {
      throw new HttpError(422, 'TOKEN_INVALID', `name (a string) and scopes (some of ${TOKEN_SCOPES.join(', ')}) are required`);
    }
    const nameProblem = tokenNameProblem(body.name);
    if (nameProblem) throw new HttpError(422, 'TOKEN_INVALID', `name: ${nameProblem}`);
    const created = await store.createToken({ name: body.name, scopes: scopes as TokenScope[] });
    await store.appendAudit({ actor: token.name, action: 'token.create', subject: created.token.id });
    sendJson(res, 201, { ...created.token, secret: created.secret });
  });
  route('GET', /^\/api\/tokens$/, async (req, res) => {
    await authenticate(store, req, 'admin');
    sendJson(res, 200, { tokens: await store.listTokens() });
  });
  route('DELETE', /^\/api\/tokens\/([^/]+)$/, async (req, res, [id]) => {
    const token = await authenticate(store, req, 'admin');
    if (!(await store.revokeToken(id!))) throw new HttpError(404, 'TOKEN_NOT_FOUND', 'no such token');
    await store.appendAudit({ actor: token.name, action: 'token.revoke', subject: id! });
    sendJson(res, 200, { ok: true });
  });

  route('GET', /^\/api\/apps\/([^/]+)\/revisions$/, async (req, res, [app], url) => {
    await authenticate(store, req, 'read');
    const environment = url.searchParams.get('environment') ?? undefined;
    sendJson(res, 200, { revisions: await rolloutCall(() => deployments.history(app!, environment)) });
  });
  route('GET', /^\/api\/apps\/([^/]+)\/environments\/([^/]+)\/revisions$/, async (req, res, [app, env]) => {
    await authenticate(store, req, 'read');
    sendJson(res, 200, { revisions: await rolloutCall(() => deployments.history(app!, env!)) });
  });
  route('GET', /^\/api\/status$/, async (req, res, _p, url) => {
    await authenticate(store, req, 'read');
    const app = url.searchParams.get('app') ?? undefined;
    const environment = url.searchParams.get('environment') ?? undefined;
    sendJson(res, 200, { environments: await rolloutCall(() => deployments.status(app, environment)) });
  });
  route('POST', /^\/api\/apps\/([^/]+)\/environments\/([^/]+)\/(deploy|rollback)$/, async (req, res, [app, env, action]) => {
    const token = await authenticate(store, req, 'deploy');
    const body = await readJson(req);
    const [appName, environment] = [app!, env!];
    const rollout = await rolloutCall(() =>
      action === 'deploy' ? deployments.deploy(appName, environment, body, token.name) : deployments.rollback(appName, environment, body, token.name),
    );
    await store.appendAudit({ actor: token.name, action: action === 'deploy' ? 'deploy' : 'rollback', subject: `${appName}/${environment}`, details: { rollout: rollout.id, ...(rollout.image ? { image: rollout.image } : {}), ...(rollout.to ? { to: rollout.to } : {}) } });
    sendJson(res, 202, { ...rollout, lines: [] }, { Location: `/api/rollouts/${rollout.id}` });
  });
  route('POST', /^\/api\/rollouts\/([^/]+)\/cancel$/, async (req, res, [id]) => {
    const token = await authenticate(store, req, 'deploy');
    const rolloutId = id!;
    const cancelled = await rolloutCall(async () => deployments.cancel(rolloutId, token.name));
    if (!cancelled) throw new HttpError(404, 'ROLLOUT_NOT_FOUND', `no rollout '${rolloutId}' in progress on this server (a rollout is cancelled on the server that started it)`);
    await store.appendAudit({ actor: token.name, action: 'rollout.cancel', subject: `${cancelled.app}/${cancelled.environment}`, details: { rollout: cancelled.id } });
    sendJson(res, 202, { ...cancelled, lines: [] }, { Location: `/api/rollouts/${cancelled.id}` });
  });
  route('GET', /^\/api\/rollouts\/([^/]+)$/, async (req, res, [id], url) => {
    await authenticate(store, req, 'read');
    const rollout = deployments.get(id!);
    if (!rollout) throw new HttpError(404, 'ROLLOUT_NOT_FOUND', `no rollout ${JSON.stringify(id!.slice(0, 100))} on this server (finished ones are kept an hour; the revision history keeps every rollout)`);
    const after = Number(req.headers['last-event-id'] ?? url.searchParams.get('after') ?? '0') || 0;
    if ((req.headers.accept ?? '').includes('text/event-stream')) return streamRollout(req, res, rollout, after);
    sendJson(res, 200, { ...rollout.view, lines: rollout.lines.slice(Math.max(0, after)) });
  });

  route('GET', /^\/api\/dora$/, async (req, res, _p, url) => {
    await authenticate(store, req, 'read');
    const days = Number(url.searchParams.get('days') ?? '30');
    if (!Number.isFinite(days) || days <= 0 || days > 3650) throw new HttpError(422, 'FILTER_INVALID', 'days is 1..3650');
    const projectName = url.searchParams.get('project');
    const untilMs = Date.now();
    sendJson(
      res,
      200,
      await store.doraMetrics({
        ...(projectName ? { projectId: (await projectOf(projectName)).id } : {}),
        environment: url.searchParams.get('environment') ?? 'production',
        sinceMs: untilMs - days * 86_400_000,
        untilMs,
      }),
    );
  });

  const unverifiedBodies = new ByteBudget(UNVERIFIED_WEBHOOK_BYTES);
  /**
   * A delivery is verified before anything of its body is read as data: the project comes from
   * the URL, the signature header must be there, and one 401 answers an unknown project, a
   * project without a secret and a bad signature alike (the caller learns nothing of which
   * projects exist). Bodies not yet verified share a memory budget.
   */
  const handleWebhook = async (req: IncomingMessage, res: ServerResponse, provider: Provider, url: URL, projectParam: string | undefined): Promise<void> => {
    const unauthorized = (code: string, message: string): HttpError => {
      ctx.metrics.webhookDeliveries.inc({ provider, outcome: 'unauthorized' });
      // the body was not read: the connection cannot be reused
      res.setHeader('Connection', 'close');
      return new HttpError(401, code, message);
    };
    const name = projectParam ?? url.searchParams.get('project') ?? undefined;
    if (!name) throw unauthorized('WEBHOOK_PROJECT_MISSING', `the webhook URL names no project: use /hooks/${provider}/PROJECT`);
    if (!hasWebhookSignature(provider, req.headers)) throw unauthorized('WEBHOOK_SIGNATURE_MISSING', `the ${provider} webhook carries no signature; set the webhook secret in ${provider} to the project's`);
    const project = projectNameProblem(name) === undefined ? await store.getProject(name) : undefined;
    const secret = project ? await store.getWebhookSecret(project.id) : undefined;
    const invalid = `the ${provider} webhook is not signed with the webhook secret of a project named by this URL`;
    if (!project || !secret) throw unauthorized('WEBHOOK_SIGNATURE_INVALID', invalid);
    const verify = (body: Buffer): void => {
      try {
        verifyWebhook(provider, req.headers, body, secret);
      } catch (err) {
        if (err instanceof WebhookError) throw unauthorized(err.code, invalid);
        throw err;
      }
    };
    // GitLab's token is a header: checked before a byte of the body is read
    if (provider === 'gitlab') verify(Buffer.alloc(0));
    const body = await readBody(req, WEBHOOK_LIMIT_BYTES, unverifiedBodies);
    if (provider !== 'gitlab') verify(body);
    const event = webhookCall(() => parseWebhook(provider, req.headers, body));
    if (event.kind !== 'push') {
      ctx.metrics.webhookDeliveries.inc({ provider, outcome: event.kind });
      return sendJson(res, 200, { ok: true, event: event.kind, message: event.kind === 'ping' ? 'pong' : `event '${(event as { event: string }).event}' is not one Slipway runs on` });
    }
    const runs = event.isDeleted || (!event.branch && !event.tag) ? [] : [webhookRun(provider, event, project)];
    const accepted = await store.acceptDelivery(
      { provider, deliveryId: event.deliveryId, projectId: project.id, payloadHash: createHash('sha256').update(body).digest('hex') },
      runs,
    );
    ctx.metrics.webhookDeliveries.inc({ provider, outcome: accepted.outcome });
    if (accepted.outcome === 'duplicate') {
      const message = accepted.replay ? 'this body was already accepted under another delivery id; it runs once' : 'this delivery was already accepted';
      return sendJson(res, 200, { ok: true, duplicate: true, message });
    }
    runner.wake();
    sendJson(res, 202, { ok: true, runs: accepted.runs.map((r) => r.id) });
  };

  return (req, res) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => ctx.metrics.observeRequest(req, res, started));
    const url = requestUrl(req);
    if (!url) return sendError(res, new HttpError(400, 'REQUEST_PATH_INVALID', 'the request target is not a URL path'));
    if (ctx.registry.handle(req, res)) return;
    if (ctx.git.handle(req, res, url)) return;
    const fail = (err: unknown): void => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const known = httpErrorOf(err);
      if (known) return sendError(res, known);
      ctx.log(`${req.method} ${url.pathname}: ${(err as Error).stack ?? String(err)}`);
      sendError(res, new HttpError(500, 'INTERNAL', 'internal error; see the server log'));
    };
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (url.pathname === '/metrics' && req.method === 'GET') {
      void ctx.metrics
        .render(store, runner)
        .then((text) => {
          res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
          res.end(text);
        })
        .catch(fail);
      return;
    }
    const hook = /^\/hooks\/([a-z]+)(?:\/([^/]+))?$/.exec(url.pathname);
    if (hook) {
      const provider = hook[1] as Provider;
      if (!PROVIDERS.includes(provider)) return sendError(res, new HttpError(404, 'WEBHOOK_PROVIDER_UNKNOWN', `webhooks come from ${PROVIDERS.join(', ')}`));
      if (req.method !== 'POST') return sendError(res, new HttpError(405, 'METHOD_NOT_ALLOWED', 'webhooks are POSTed'));
      void Promise.resolve()
        .then(() => handleWebhook(req, res, provider, url, hook[2] === undefined ? undefined : decodePathParam(hook[2])))
        .catch(fail);
      return;
    }
    for (const [method, pattern, handler] of routes) {
      const match = pattern.exec(url.pathname);
      if (!match) continue;
      if (req.method !== method) continue;
      void Promise.resolve()
        .then(() => handler(req, res, match.slice(1).map((param) => (param === undefined ? param : decodePathParam(param))) as string[], url))
        .catch(fail);
      return;
    }
    const known = routes.some(([, pattern]) => pattern.test(url.pathname));
    sendError(res, known ? new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed here`) : new HttpError(404, 'NOT_FOUND', `nothing at ${url.pathname}`));
  };
}

/** Expected failures of the parts the API calls, as the HTTP errors they are; undefined for bugs. */
function httpErrorOf(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (err instanceof WebhookError) return new HttpError(err.status, err.code, err.message);
  if (err instanceof StoreError) {
    const status: Partial<Record<StoreErrorCode, number>> = {
      STORE_NAME_INVALID: 422,
      STORE_TOKEN_INVALID: 422,
      STORE_URL_INVALID: 422,
      STORE_NAME_TAKEN: 409,
      STORE_RUN_TRANSITION: 409,
      STORE_NOT_FOUND: 404,
      STORE_UNAVAILABLE: 503,
    };
    const code = status[err.code];
    return code === undefined ? undefined : new HttpError(code, err.code, err.message);
  }
  return undefined;
}

function webhookCall<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    if (err instanceof WebhookError) throw new HttpError(err.status, err.code, err.message);
    throw err;
  }
}

/** The run a push delivery asks for; a clone URL that may not be fetched refuses the delivery. */
function webhookRun(provider: Provider, event: Push, project: Project): EnqueueRun {
  if (!isSafeRef(event.ref)) throw new HttpError(400, 'WEBHOOK_PAYLOAD_INVALID', `ref ${JSON.stringify(event.ref.slice(0, 100))} is not a branch or tag ref`);
  let remote = '';
  if (event.cloneUrl !== undefined || project.remoteUrl) {
    const chosen = webhookRemote(provider, event, project);
    if (chosen.url === undefined) throw new HttpError(422, 'WEBHOOK_CLONE_URL_REFUSED', chosen.problem);
    remote = chosen.url;
  }
  return {
    projectId: project.id,
    pipeline: { file: 'slipway.yaml', remote, ref: event.ref, repository: event.fullName, provider },
    trigger: {
      event: 'webhook' as const,
      branch: event.branch ?? event.tag ?? '',
      commit: event.after,
      ...(event.commitMessage ? { commitMessage: event.commitMessage.slice(0, 2000) } : {}),
      ...(event.commitTimestamp && !Number.isNaN(Date.parse(event.commitTimestamp)) ? { commitTimestampMs: Date.parse(event.commitTimestamp) } : {}),
      deliveryId: event.deliveryId,
      sender: event.sender.slice(0, 200),
    },
  };
}

/**
 * Server-Sent Events of a run's log lines from `after` on, live until the run ends. Each client
 * pulls pages from the store at its own pace (waiting for its socket to drain), so a slow client
 * costs one page of memory, never the run's whole output; the hub only says "there is more".
 */
async function streamLogs(ctx: AppContext, req: IncomingMessage, res: ServerResponse, runId: string, after: number): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  let last = after;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const hub = ctx.runner.hub;
  hub.on(`logs:${runId}`, poke);
  hub.on(`end:${runId}`, poke);
  let closed = false;
  const onClose = (): void => {
    closed = true;
    poke();
  };
  req.on('close', onClose);
  const drained = (): Promise<void> => new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
  const PAGE = 1000;
  try {
    for (;;) {
      if (closed) break;
      const page = await ctx.store.readLogs(runId, { afterSeq: last, limit: PAGE });
      for (const line of page) {
        last = line.seq;
        if (!res.write(`id: ${line.seq}\nevent: log\ndata: ${JSON.stringify(line)}\n\n`)) await drained();
        if (closed) break;
      }
      if (page.length === PAGE) continue;
      const run = await ctx.store.getRun(runId);
      if (!run || (run.status !== 'queued' && run.status !== 'running')) {
        const rest = await ctx.store.readLogs(runId, { afterSeq: last, limit: PAGE });
        if (rest.length > 0) continue;
        res.write(`event: end\ndata: ${JSON.stringify({ status: run?.status ?? 'unknown' })}\n\n`);
        break;
      }
      // new lines poke us through the hub; the timeout notices another replica's lines and the end
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(poke, 500);
      });
    }
  } finally {
    hub.off(`logs:${runId}`, poke);
    hub.off(`end:${runId}`, poke);
    req.off('close', onClose);
    res.end();
  }
}

/**
 * Server-Sent Events of a rollout: `progress` lines after `after` (ids are their numbers, so a
 * client resumes with Last-Event-ID), then one `end` event with the rollout and its outcome.
 */
function streamRollout(req: IncomingMessage, res: ServerResponse, rollout: Rollout, after: number): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  let last = Math.max(0, after);
  // a rollout may wait long between lines (health checks): comments keep idle-closing proxies off
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  const stop = (): void => {
    clearInterval(keepAlive);
    rollout.changed.off('change', send);
    req.off('close', stop);
    res.end();
  };
  function send(): void {
    for (const line of rollout.lines.slice(last)) {
      res.write(`id: ${line.seq}\nevent: progress\ndata: ${JSON.stringify(line)}\n\n`);
      last = line.seq;
    }
    if (rollout.isDone) {
      res.write(`event: end\ndata: ${JSON.stringify(rollout.view)}\n\n`);
      stop();
    }
  }
  rollout.changed.on('change', send);
  req.on('close', stop);
  send();
}
