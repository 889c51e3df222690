// Deploys through the API: revisions (with scale events) and the diff of two, status, deploy, rollback, scale and promote
// (rollouts followed as JSON or Server-Sent Events), cancel; and the DORA metrics the revisions
// make. Every route that acts on an environment checks the token may deploy there (deploy, or deploy:ENV).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DeployError } from '../../deploy/index.js';
import { HttpError } from '../../http/index.js';
import type { AppContext } from '../app.js';
import { requireDeployTo } from '../auth.js';
import { Deployments, httpStatusOf, RolloutConflict, RolloutNotCancellable, type Rollout } from '../deployments.js';
import { projectOf } from './projects.js';
import { diffRevisions } from '../revision-diff.js';
import { ANSWERED, ValidationFailure, type Handlers } from './routing.js';
import { resumeAfter, wantsEvents } from './runs.js';

/** Rollout failures known before anything changed become JSON errors with their stable codes. */
async function rolloutCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof DeployError && err.code !== 'ROLLOUT_INVALID') throw new HttpError(httpStatusOf(err), err.code, err.message);
    if (err instanceof RolloutConflict) throw new HttpError(409, 'ROLLOUT_IN_PROGRESS', err.message);
    if (err instanceof RolloutNotCancellable) throw new HttpError(409, 'ROLLOUT_NOT_CANCELLABLE', err.message);
    throw err;
  }
}

type DeployRoute = 'appRevisions' | 'environmentRevisions' | 'revisionDiff' | 'status' | 'deploy' | 'rollback' | 'scale' | 'promote' | 'cancelRollout' | 'getRollout' | 'dora';

export function deployRoutes(ctx: AppContext): Handlers<DeployRoute> {
  const { store } = ctx;
  const deployments = new Deployments({
    store,
    targets: ctx.deployTargets,
    dataDir: ctx.deployDataDir,
    log: ctx.log,
    onChange: (app, environment) => ctx.changes.publish({ kind: 'environment', app, environment }),
  });
  return {
    appRevisions: async ({ params, query }) => ({
      revisions: await rolloutCall(() => deployments.history(params.app, query.environment)),
      scaleEvents: await rolloutCall(() => deployments.scaleEvents(params.app, query.environment)),
    }),
    environmentRevisions: async ({ params }) => ({
      revisions: await rolloutCall(() => deployments.history(params.app, params.env)),
      scaleEvents: await rolloutCall(() => deployments.scaleEvents(params.app, params.env)),
    }),
    revisionDiff: async ({ params, query }) => {
      // the schema admits 1..999999999 only; the handler does not rely on it (git sees only the revisions' commit ids, checked too)
      const from = Number(query.from);
      const to = Number(query.to);
      for (const [field, n] of [['from', from], ['to', to]] as const) {
        if (!Number.isSafeInteger(n) || n < 1) throw new ValidationFailure('DIFF_INVALID', [{ field, message: 'a revision number (1 or more)' }]);
      }
      const history = await rolloutCall(() => deployments.history(params.app, params.env));
      const found = await diffRevisions({ store, reposDir: ctx.reposDir }, history, from, to);
      if ('missing' in found) throw new HttpError(404, 'REVISION_NOT_FOUND', `${params.app}/${params.env} has no revision ${found.missing}${history.length > 0 ? ` (it has 1 to ${history.at(-1)?.number})` : ' (it was never deployed)'}`);
      return found.diff;
    },
    status: async ({ query }) => ({ environments: await rolloutCall(() => deployments.status(query.app, query.environment)) }),
    deploy: async ({ params, body, token, reply }) => {
      requireDeployTo(token, params.env);
      const rollout = await rolloutCall(() => deployments.deploy(params.app, params.env, body, token.name));
      // a sync ({"sync": true}) is audited as such: it applied the current revision again
      await store.appendAudit({ actor: token.name, action: rollout.kind === 'sync' ? 'sync' : 'deploy', subject: `${params.app}/${params.env}`, details: { rollout: rollout.id, ...(rollout.image ? { image: rollout.image } : {}) } });
      void reply.header('Location', `/api/rollouts/${rollout.id}`);
      return { ...rollout, lines: [] };
    },
    rollback: async ({ params, body, token, reply }) => {
      requireDeployTo(token, params.env);
      const rollout = await rolloutCall(() => deployments.rollback(params.app, params.env, body, token.name));
      await store.appendAudit({ actor: token.name, action: 'rollback', subject: `${params.app}/${params.env}`, details: { rollout: rollout.id, ...(rollout.to ? { to: rollout.to } : {}) } });
      void reply.header('Location', `/api/rollouts/${rollout.id}`);
      return { ...rollout, lines: [] };
    },
    scale: async ({ params, body, token, reply }) => {
      requireDeployTo(token, params.env);
      const rollout = await rolloutCall(() => deployments.scale(params.app, params.env, body, token.name));
      await store.appendAudit({ actor: token.name, action: 'scale', subject: `${params.app}/${params.env}`, details: { rollout: rollout.id, replicas: body.replicas } });
      void reply.header('Location', `/api/rollouts/${rollout.id}`);
      return { ...rollout, lines: [] };
    },
    promote: async ({ params, body, token, reply }) => {
      requireDeployTo(token, body.to);
      const rollout = await rolloutCall(() => deployments.promote(params.app, body.from, body.to, token.name));
      await store.appendAudit({
        actor: token.name,
        action: 'promote',
        subject: `${params.app}/${body.to}`,
        details: { rollout: rollout.id, from: `${body.from}#${rollout.from?.revision ?? '?'}`, ...(rollout.image ? { image: rollout.image } : {}) },
      });
      void reply.header('Location', `/api/rollouts/${rollout.id}`);
      return { ...rollout, lines: [] };
    },
    cancelRollout: async ({ params, token, reply }) => {
      // a rollout is cancelled by a token that may deploy to its environment
      const known = deployments.get(params.id);
      if (known) requireDeployTo(token, known.view.environment);
      const cancelled = await rolloutCall(async () => deployments.cancel(params.id, token.name));
      if (!cancelled) throw new HttpError(404, 'ROLLOUT_NOT_FOUND', `no rollout '${params.id}' in progress on this server (a rollout is cancelled on the server that started it)`);
      await store.appendAudit({ actor: token.name, action: 'rollout.cancel', subject: `${cancelled.app}/${cancelled.environment}`, details: { rollout: cancelled.id } });
      void reply.header('Location', `/api/rollouts/${cancelled.id}`);
      return { ...cancelled, lines: [] };
    },
    getRollout: async ({ params, query, request, reply }) => {
      const rollout = deployments.get(params.id);
      if (!rollout) throw new HttpError(404, 'ROLLOUT_NOT_FOUND', `no rollout ${JSON.stringify(params.id.slice(0, 100))} on this server (finished ones are kept an hour; the revision history keeps every rollout)`);
      const after = resumeAfter(request.headers, query.after);
      if (wantsEvents(request.headers)) {
        reply.hijack();
        streamRollout(request.raw, reply.raw, rollout, after);
        return ANSWERED;
      }
      return { ...rollout.view, lines: rollout.lines.slice(Math.max(0, after)) };
    },
    dora: async ({ query }) => {
      const days = Number(query.days ?? '30');
      if (!Number.isFinite(days) || days <= 0 || days > 3650) throw new HttpError(422, 'FILTER_INVALID', 'days is 1..3650');
      const untilMs = Date.now();
      return store.doraMetrics({
        ...(query.project ? { projectId: (await projectOf(store, query.project)).id } : {}),
        environment: query.environment ?? 'production',
        sinceMs: untilMs - days * 86_400_000,
        untilMs,
      });
    },
  };
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
