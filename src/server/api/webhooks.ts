// Webhook deliveries from GitHub, Gitea/Forgejo and GitLab at /hooks/<provider>/<project>. A
// delivery is verified before anything of its body is read as data: the project comes from the
// URL, the signature header must be there, and one 401 answers an unknown project, a project
// without a secret and a bad signature alike (the caller learns nothing of which projects exist).
// Bodies not yet verified share a memory budget.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { isSafeRef } from '../../git/index.js';
import { projectNameProblem, type EnqueueRun, type Project } from '../../store/index.js';
import { ErrorBody } from '../../api/schemas.js';
import { ByteBudget, HttpError, readBody } from '../../http/index.js';
import type { AppContext } from '../app.js';
import { webhookRemote } from '../webhook-remote.js';
import { hasWebhookSignature, PROVIDERS, parseWebhook, verifyWebhook, WebhookError, type Provider, type Push } from '../webhooks.js';

const WEBHOOK_LIMIT_BYTES = 25 * 1024 * 1024;
/** Webhook bodies read before their signature is checked, all requests together. */
const UNVERIFIED_WEBHOOK_BYTES = 64 * 1024 * 1024;

const Answer = Type.Object({ ok: Type.Boolean(), runs: Type.Optional(Type.Array(Type.String())), duplicate: Type.Optional(Type.Boolean()), event: Type.Optional(Type.String()), message: Type.Optional(Type.String()) });

export function registerWebhooks(app: FastifyInstance, ctx: AppContext): void {
  const unverifiedBodies = new ByteBudget(UNVERIFIED_WEBHOOK_BYTES);
  // the body is the handler's to read, after the signature header was looked at
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  const schema = {
    summary: 'A webhook delivery; the signature is checked before the body is read. 2xx means persisted.',
    tags: ['webhooks'],
    response: {
      202: Answer,
      200: Answer,
      '4XX': ErrorBody,
    },
    description:
      '401: unsigned, badly signed, or no such project (one answer for all three). 400: a malformed payload or ref. 422: a clone URL that may not be fetched. ' +
      '503: too many unverified bodies at once. A delivery id is accepted once; the same body under another id within 7 days is a duplicate.',
  };
  const handle = (request: FastifyRequest, reply: FastifyReply, project: string | undefined): Promise<unknown> => {
    const { provider } = request.params as { provider: string };
    if (!PROVIDERS.includes(provider as Provider)) throw new HttpError(404, 'WEBHOOK_PROVIDER_UNKNOWN', `webhooks come from ${PROVIDERS.join(', ')}`);
    return acceptDelivery(ctx, unverifiedBodies, request, reply, provider as Provider, project ?? (request.query as { project?: string }).project);
  };
  app.post('/hooks/:provider/:project', { schema: { ...schema, params: Type.Object({ provider: Type.String(), project: Type.String() }) } }, (request, reply) => handle(request, reply, (request.params as { project: string }).project));
  app.post('/hooks/:provider', { schema: { ...schema, params: Type.Object({ provider: Type.String() }), querystring: Type.Object({ project: Type.Optional(Type.String()) }) } }, (request, reply) => handle(request, reply, undefined));
}

async function acceptDelivery(ctx: AppContext, budget: ByteBudget, request: FastifyRequest, reply: FastifyReply, provider: Provider, name: string | undefined): Promise<unknown> {
  const { store } = ctx;
  const unauthorized = (code: string, message: string): HttpError => {
    ctx.metrics.webhookDeliveries.inc({ provider, outcome: 'unauthorized' });
    // the body was not read: the connection cannot be reused
    void reply.header('Connection', 'close');
    return new HttpError(401, code, message);
  };
  if (!name) throw unauthorized('WEBHOOK_PROJECT_MISSING', `the webhook URL names no project: use /hooks/${provider}/PROJECT`);
  if (!hasWebhookSignature(provider, request.headers)) throw unauthorized('WEBHOOK_SIGNATURE_MISSING', `the ${provider} webhook carries no signature; set the webhook secret in ${provider} to the project's`);
  const project = projectNameProblem(name) === undefined ? await store.getProject(name) : undefined;
  const secret = project ? await store.getWebhookSecret(project.id) : undefined;
  const invalid = `the ${provider} webhook is not signed with the webhook secret of a project named by this URL`;
  if (!project || !secret) throw unauthorized('WEBHOOK_SIGNATURE_INVALID', invalid);
  const verify = (body: Buffer): void => {
    try {
      verifyWebhook(provider, request.headers, body, secret);
    } catch (err) {
      if (err instanceof WebhookError) throw unauthorized(err.code, invalid);
      throw err;
    }
  };
  // GitLab's token is a header: checked before a byte of the body is read
  if (provider === 'gitlab') verify(Buffer.alloc(0));
  const body = await readBody(request.raw, WEBHOOK_LIMIT_BYTES, budget);
  if (provider !== 'gitlab') verify(body);
  const event = parseWebhook(provider, request.headers, body);
  if (event.kind !== 'push') {
    ctx.metrics.webhookDeliveries.inc({ provider, outcome: event.kind });
    return { ok: true, event: event.kind, message: event.kind === 'ping' ? 'pong' : `event '${(event as { event: string }).event}' is not one Slipway runs on` };
  }
  const runs = event.isDeleted || (!event.branch && !event.tag) ? [] : [webhookRun(provider, event, project)];
  const accepted = await store.acceptDelivery({ provider, deliveryId: event.deliveryId, projectId: project.id, payloadHash: createHash('sha256').update(body).digest('hex') }, runs);
  ctx.metrics.webhookDeliveries.inc({ provider, outcome: accepted.outcome });
  if (accepted.outcome === 'duplicate') {
    const message = accepted.replay ? 'this body was already accepted under another delivery id; it runs once' : 'this delivery was already accepted';
    return { ok: true, duplicate: true, message };
  }
  ctx.runner.wake();
  void reply.code(202);
  return { ok: true, runs: accepted.runs.map((r) => r.id) };
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
