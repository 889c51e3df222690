// Webhook deliveries from GitHub, Gitea/Forgejo and GitLab at /hooks/<provider>/<project>. A
// delivery is verified before anything of its body is read as data: the project comes from the
// URL, the signature header must be there, and one 401 answers an unknown project, a project
// without a secret and a bad signature alike (the caller learns nothing of which projects exist).
// Bodies not yet verified share a memory budget. Served on the raw listener beside the API, as
// the registry and git are: the busiest route of a server, measured ~12% cheaper without the
// framework's routing, hooks and request log (bench/RESULTS.md); documented in the same OpenAPI
// document (webhookPaths).
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { isSafeRef } from '../../git/index.js';
import { projectNameProblem, type Delivery, type EnqueueRun, type Project } from '../../store/index.js';
import { ByteBudget, HttpError, readBody, sendError, sendJson } from '../../http/index.js';
import type { AppContext } from '../app.js';
import { webhookRemote } from '../webhook-remote.js';
import { hasWebhookSignature, PROVIDERS, parseWebhook, verifyWebhook, WebhookError, type Provider, type PullRequestEvent, type Push } from '../webhooks.js';
import { pullRequestClosed, supersedeOlderRuns } from '../pull-requests.js';
import { httpErrorOf } from './routing.js';
import { ErrorBody } from '../../api/schemas.js';

const WEBHOOK_LIMIT_BYTES = 25 * 1024 * 1024;
/** Webhook bodies read before their signature is checked, all requests together. */
const UNVERIFIED_WEBHOOK_BYTES = 64 * 1024 * 1024;
const ROUTE = /^\/hooks\/([^/]+)(?:\/([^/]+))?$/;

/** The listener of /hooks/…: false for other paths. */
export function webhookListener(ctx: AppContext): (req: IncomingMessage, res: ServerResponse, url: URL) => boolean {
  const budget = new ByteBudget(UNVERIFIED_WEBHOOK_BYTES);
  return (req, res, url) => {
    if (!url.pathname.startsWith('/hooks/')) return false;
    const fail = (err: unknown): void => {
      if (res.headersSent) return void res.destroy();
      const known = httpErrorOf(err);
      if (!known) ctx.log(`${req.method} ${url.pathname}: ${(err as Error).stack ?? String(err)}`);
      sendError(res, known ?? new HttpError(500, 'INTERNAL', 'internal error; see the server log'));
    };
    try {
      const match = ROUTE.exec(url.pathname);
      if (!match || !PROVIDERS.includes(match[1] as Provider)) throw new HttpError(404, 'WEBHOOK_PROVIDER_UNKNOWN', `webhooks are POSTed to /hooks/PROVIDER/PROJECT, PROVIDER one of ${PROVIDERS.join(', ')}`);
      if (req.method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'webhooks are POSTed');
      const project = match[2] !== undefined ? decodeSegment(match[2]) : (url.searchParams.get('project') ?? undefined);
      acceptDelivery(ctx, budget, req, res, match[1] as Provider, project).then((answer) => sendJson(res, answer.status, answer.body), fail);
    } catch (err) {
      fail(err);
    }
    return true;
  };
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'REQUEST_PATH_INVALID', 'the path has a malformed % escape');
  }
}

const answer = {
  type: 'object',
  properties: {
    ok: { type: 'boolean' },
    runs: { type: 'array', items: { type: 'string' }, description: 'the runs queued' },
    cancelled: { type: 'array', items: { type: 'string' }, description: 'a closed pull request: its runs cancelled' },
    duplicate: { type: 'boolean' },
    event: { type: 'string' },
    message: { type: 'string' },
  },
};
const operation = (parameters: unknown[]) => ({
  tags: ['webhooks'],
  summary: 'A webhook delivery from GitHub, Gitea/Forgejo or GitLab; its signature is checked before its body is read. 2xx means persisted.',
  description:
    '401: unsigned, badly signed, or no such project (one answer for all three). 400: a malformed payload or ref. 422: a clone URL that may not be fetched. ' +
    '503: too many unverified bodies at once. A delivery that starts runs is accepted once per body (a redelivery, or the same body under another id, is a duplicate); others once per delivery id.',
  parameters,
  requestBody: { content: { 'application/json': { schema: { type: 'object', description: "the forge's push or pull request (merge request) event payload" } } } },
  responses: {
    '202': { description: 'runs queued', content: { 'application/json': { schema: answer } } },
    '200': { description: 'ping, duplicate, ignored event, or a closed pull request (its runs cancelled)', content: { 'application/json': { schema: answer } } },
    '4XX': { description: 'refused', content: { 'application/json': { schema: ErrorBody } } },
  },
});
const provider = { name: 'provider', in: 'path', required: true, schema: { type: 'string', enum: [...PROVIDERS] } };

/** The webhook routes in OpenAPI form, for the API's document. */
export const webhookPaths = {
  '/hooks/{provider}/{project}': { post: operation([provider, { name: 'project', in: 'path', required: true, schema: { type: 'string' } }]) },
  '/hooks/{provider}': { post: operation([provider, { name: 'project', in: 'query', required: true, schema: { type: 'string' } }]) },
};

type Answer = { status: number; body: Record<string, unknown> };

async function acceptDelivery(ctx: AppContext, budget: ByteBudget, req: IncomingMessage, res: ServerResponse, provider: Provider, name: string | undefined): Promise<Answer> {
  const { store } = ctx;
  const headers: IncomingHttpHeaders = req.headers;
  const unauthorized = (code: string, message: string): HttpError => {
    ctx.metrics.webhookDeliveries.inc({ provider, outcome: 'unauthorized' });
    // the body was not read: the connection cannot be reused
    res.setHeader('Connection', 'close');
    return new HttpError(401, code, message);
  };
  if (!name) throw unauthorized('WEBHOOK_PROJECT_MISSING', `the webhook URL names no project: use /hooks/${provider}/PROJECT`);
  if (!hasWebhookSignature(provider, headers)) throw unauthorized('WEBHOOK_SIGNATURE_MISSING', `the ${provider} webhook carries no signature; set the webhook secret in ${provider} to the project's`);
  const project = projectNameProblem(name) === undefined ? await store.getProject(name) : undefined;
  const secret = project ? await store.getWebhookSecret(project.id) : undefined;
  const invalid = `the ${provider} webhook is not signed with the webhook secret of a project named by this URL`;
  if (!project || !secret) throw unauthorized('WEBHOOK_SIGNATURE_INVALID', invalid);
  const verify = (body: Buffer): void => {
    try {
      verifyWebhook(provider, headers, body, secret);
    } catch (err) {
      if (err instanceof WebhookError) throw unauthorized(err.code, invalid);
      throw err;
    }
  };
  // GitLab's token is a header: checked before a byte of the body is read
  if (provider === 'gitlab') verify(Buffer.alloc(0));
  const body = await readBody(req, WEBHOOK_LIMIT_BYTES, budget);
  if (provider !== 'gitlab') verify(body);
  const event = parseWebhook(provider, headers, body);
  if (event.kind === 'ping' || event.kind === 'unsupported') {
    ctx.metrics.webhookDeliveries.inc({ provider, outcome: event.kind });
    return { status: 200, body: { ok: true, event: event.kind, message: event.kind === 'ping' ? 'pong' : `event '${event.event}' is not one Slipway runs on` } };
  }
  const delivery: Delivery = { provider, deliveryId: event.deliveryId, projectId: project.id, payloadHash: createHash('sha256').update(body).digest('hex') };
  if (event.kind === 'pull_request') return acceptPullRequest(ctx, provider, event, project, delivery);
  const runs = event.isDeleted || (!event.branch && !event.tag) ? [] : [webhookRun(provider, event, project)];
  const accepted = await store.acceptDelivery(delivery, runs);
  ctx.metrics.webhookDeliveries.inc({ provider, outcome: accepted.outcome });
  if (accepted.outcome === 'duplicate') return DUPLICATE;
  ctx.runner.wake();
  return { status: 202, body: { ok: true, runs: accepted.runs.map((r) => r.id) } };
}

const DUPLICATE: Answer = { status: 200, body: { ok: true, duplicate: true, message: 'this delivery (or the same body under another delivery id) was already accepted; it runs once' } };

/**
 * A pull request opened, pushed to or reopened queues a run of its head commit, and its older
 * runs still going are superseded; closed (or merged), its runs still going are cancelled.
 */
async function acceptPullRequest(ctx: AppContext, provider: Provider, event: PullRequestEvent, project: Project, delivery: Delivery): Promise<Answer> {
  if (event.action === 'closed') {
    // cancelled before the delivery is recorded: when this fails the forge's redelivery tries again
    const cancelled = await pullRequestClosed(ctx, project, event.number);
    const accepted = await ctx.store.acceptDelivery(delivery, []);
    ctx.metrics.webhookDeliveries.inc({ provider, outcome: accepted.outcome });
    const message = `pull request #${event.number} was ${event.merged ? 'merged' : 'closed'}; ${cancelled.length} of its runs cancelled`;
    return { status: 200, body: { ok: true, event: 'pull_request', message, cancelled: cancelled.map((r) => r.id) } };
  }
  const accepted = await ctx.store.acceptDelivery(delivery, [pullRequestRun(provider, event, project)]);
  ctx.metrics.webhookDeliveries.inc({ provider, outcome: accepted.outcome });
  if (accepted.outcome === 'duplicate') return DUPLICATE;
  for (const run of accepted.runs) {
    // the new run is stored: an older one left going only costs time, so a failure here is logged
    await supersedeOlderRuns(ctx, project, run).catch((err: unknown) => ctx.log(`pull request #${event.number} of ${project.name}: older runs not cancelled: ${(err as Error).message}`));
  }
  ctx.runner.wake();
  return { status: 202, body: { ok: true, runs: accepted.runs.map((r) => r.id) } };
}

/** Where a forge keeps a pull request's head in the base repository. */
function pullRequestRef(provider: Provider, number: number): string {
  return provider === 'gitlab' ? `refs/merge-requests/${number}/head` : `refs/pull/${number}/head`;
}

/**
 * The run of a pull request's head commit, fetched from the base repository's pull request ref
 * (the head repository of a fork is anyone's, and on no host the project has vouched for).
 */
function pullRequestRun(provider: Provider, event: PullRequestEvent, project: Project): EnqueueRun {
  let remote = '';
  if (event.cloneUrl !== undefined || project.remoteUrl) {
    const chosen = webhookRemote(provider, event, project);
    if (chosen.url === undefined) throw new HttpError(422, 'WEBHOOK_CLONE_URL_REFUSED', chosen.problem);
    remote = chosen.url;
  }
  const timestampMs = event.commitTimestamp !== undefined ? Date.parse(event.commitTimestamp) : Number.NaN;
  return {
    projectId: project.id,
    pipeline: { file: 'slipway.yaml', remote, ref: pullRequestRef(provider, event.number), repository: event.fullName, provider },
    trigger: {
      event: 'pull_request',
      branch: event.head,
      commit: event.headSha,
      ...(event.commitMessage ? { commitMessage: event.commitMessage } : {}),
      ...(Number.isNaN(timestampMs) ? {} : { commitTimestampMs: timestampMs }),
      deliveryId: event.deliveryId,
      sender: event.sender,
      pullRequest: {
        number: event.number,
        base: event.base,
        head: event.head,
        fork: event.isFork,
        ...(event.url ? { url: event.url } : {}),
        ...(event.title ? { title: event.title } : {}),
      },
    },
  };
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
    pipeline: { file: 'slipway.yaml', remote, ref: event.ref, before: event.before, repository: event.fullName, provider },
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
