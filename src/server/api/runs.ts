// Runs: the list (keyset pages), one run with its jobs and steps, cancel, re-run, and its log as
// JSON pages or live Server-Sent Events.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isRunCursor, StoreError, type RunState, type TriggerEvent, type VerifiedToken } from '../../store/index.js';
import { canDeployTo, hasScope } from '../auth.js';
import { HttpError } from '../../http/index.js';
import type { AppContext } from '../app.js';
import { projectOf } from './projects.js';
import { ANSWERED, type Handlers } from './routing.js';

async function runOf(ctx: AppContext, id: string) {
  const run = await ctx.store.getRunDetail(id);
  if (!run) throw new HttpError(404, 'RUN_NOT_FOUND', `no run ${JSON.stringify(id.slice(0, 100))}`);
  return run;
}

export function wantsEvents(headers: IncomingMessage['headers']): boolean {
  return (headers.accept ?? '').includes('text/event-stream');
}

/** Where a client resumes: Last-Event-ID, else ?after=, else the start. */
export function resumeAfter(headers: IncomingMessage['headers'], after: string | undefined): number {
  return Number(headers['last-event-id'] ?? after ?? '0') || 0;
}

export function runRoutes(ctx: AppContext): Handlers<'listRuns' | 'getRun' | 'cancelRun' | 'rerun' | 'runLogs' | 'approveJob' | 'rejectJob'> {
  const { store, runner } = ctx;
  return {
    listRuns: async ({ query }) => {
      const limit = query.limit !== undefined ? Number(query.limit) : undefined;
      if (limit !== undefined && (limit < 1 || limit > 500)) throw new HttpError(422, 'FILTER_INVALID', 'limit is 1..500');
      if (query.cursor && !isRunCursor(query.cursor)) throw new HttpError(422, 'FILTER_INVALID', 'cursor: not a page cursor this server gave (use nextCursor of the previous page)');
      return store.listRuns({
        ...(query.project ? { projectId: (await projectOf(store, query.project)).id } : {}),
        ...(query.status ? { status: query.status as RunState } : {}),
        ...(query.branch ? { branch: query.branch } : {}),
        ...(query.event ? { event: query.event as TriggerEvent } : {}),
        ...(limit ? { limit } : {}),
        ...(query.cursor ? { cursor: query.cursor } : {}),
      });
    },
    getRun: async ({ params }) => {
      const run = await runOf(ctx, params.id);
      // the job graph: the plan the engine announced when the run started (its first event)
      const [first] = await store.readRunEvents(run.id, { limit: 1 });
      return first?.event.type === 'run.started' ? { ...run, plan: first.event.jobs } : run;
    },
    cancelRun: async ({ params, token }) => {
      const run = await runOf(ctx, params.id);
      // queued or parked: no engine holds it, the store alone moves it
      if (run.status === 'queued' || run.status === 'waiting') await store.updateRunStatus(run.id, 'cancelled', { reason: `cancelled by ${token.name}` });
      else if (run.status !== 'running' || !runner.cancel(run.id)) throw new HttpError(409, 'RUN_NOT_CANCELLABLE', `run ${run.id} is ${run.status}`);
      await store.appendAudit({ actor: token.name, action: 'run.cancel', subject: run.id });
      return { ok: true as const };
    },
    rerun: async ({ params, body, token }) => {
      const run = await runOf(ctx, params.id);
      const mode = body.mode ?? 'all';
      if (mode === 'failed-jobs' && !['failure', 'cancelled', 'interrupted'].includes(run.status)) {
        throw new HttpError(409, 'RERUN_NOTHING_FAILED', `run ${run.id} is ${run.status}; re-running only failed jobs needs a failed, cancelled or interrupted run`);
      }
      const next = await store.rerun(run.id, mode, token.name);
      runner.wake();
      return next;
    },
    approveJob: async ({ params, token }) => decideJob(ctx, params.id, params.job, token, { kind: 'approved' }),
    rejectJob: async ({ params, body, token }) => decideJob(ctx, params.id, params.job, token, { kind: 'rejected', ...(body.reason ? { reason: body.reason } : {}) }),
    runLogs: async ({ params, query, request, reply }) => {
      const run = await runOf(ctx, params.id);
      const after = resumeAfter(request.headers, query.after);
      if (wantsEvents(request.headers)) {
        reply.hijack();
        await streamLogs(ctx, request.raw, reply.raw, run.id, after);
        return ANSWERED;
      }
      return { lines: await store.readLogs(run.id, { afterSeq: after, limit: 10_000 }) };
    },
  };
}

/**
 * Approves or rejects a waiting job: who may is checked against the job (its environment), the
 * decision is stored once (a second one is 409, whoever wins a race), audited, and the run's
 * engine — or, for a parked run, the queue — hears of it.
 */
async function decideJob(ctx: AppContext, runId: string, jobName: string, token: VerifiedToken, decision: { kind: 'approved' | 'rejected'; reason?: string }) {
  const run = await runOf(ctx, runId);
  const job = run.jobs.find((j) => j.name === jobName);
  if (!job) throw new HttpError(404, 'JOB_NOT_FOUND', `run ${run.id} has no job ${JSON.stringify(jobName)}${run.status === 'queued' ? ' yet (it has not started)' : ''}`);
  const verb = decision.kind === 'approved' ? 'approve' : 'reject';
  const environment = job.approval?.environment;
  if (environment !== undefined ? !canDeployTo(token, environment) : !hasScope(token, 'run')) {
    const needed = environment !== undefined ? `'deploy:${environment}' (or 'deploy')` : "'run'";
    throw new HttpError(403, 'AUTH_SCOPE', `to ${verb} ${jobName}${environment !== undefined ? `, which deploys to ${environment},` : ''} the token needs the ${needed} scope`);
  }
  if (job.status !== 'waiting' || job.approval?.decision) {
    const decided = job.approval?.decision;
    throw new HttpError(409, 'JOB_NOT_WAITING', decided ? `job ${jobName} was ${decided.kind}${decided.by ? ` by ${decided.by}` : ''} already` : `job ${jobName} is ${job.status}, not waiting for approval`);
  }
  let decided;
  try {
    decided = await ctx.store.decideJob(run.id, jobName, { kind: decision.kind, by: token.name, atMs: Date.now(), ...(decision.reason ? { reason: decision.reason } : {}) });
  } catch (err) {
    if (err instanceof StoreError && err.code === 'STORE_JOB_NOT_WAITING') throw new HttpError(409, 'JOB_NOT_WAITING', err.message);
    throw err;
  }
  await ctx.store.appendAudit({
    actor: token.name,
    action: `job.${verb}`,
    subject: run.id,
    details: { job: jobName, ...(environment !== undefined ? { environment } : {}), ...(decision.reason ? { reason: decision.reason } : {}) },
  });
  ctx.runner.decided(run.id);
  // the store answers the job with its decision; a decision changes no step
  return { ...decided.job, steps: job.steps };
}

/**
 * Server-Sent Events of a run's log lines from `after` on, live until the run ends (a run that
 * waits for approval has not). Each client
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
      // a waiting run has not ended: following goes on through the approval
      if (!run || (run.status !== 'queued' && run.status !== 'running' && run.status !== 'waiting')) {
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
