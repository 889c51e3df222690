// Rollouts through the API: deploys, rollbacks and promotions started by a request and followed by
// the client (a rollout takes seconds to minutes, longer than a request should), plus the history
// and status the CLI shows. Every finished rollout is recorded in the store the way a run's deploys are.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import {
  checkName,
  DeployError,
  describeUnchanged,
  environmentStatuses,
  parseDeployRequestBody,
  planPromotion,
  readScaleEvents,
  scaleProblem,
  type DeployOutcome,
  type ScaleEvent,
  type EnvironmentStatus,
  type Revision,
  type TargetFactory,
} from '../deploy/index.js';
import type { Store } from '../store/types.js';
import type { RolloutInProgress } from '../api/schemas.js';
import { recordRollout } from './runs/index.js';

export type RolloutStatus = 'in-progress' | 'healthy' | 'failed' | 'rolled-back' | 'unchanged' | 'error';

export interface RolloutLine {
  /** 1, 2, 3… per rollout: the SSE event id */
  seq: number;
  atMs: number;
  line: string;
}

/** A rollout as the API shows it; `outcome` is the target's own answer once there is one. */
export interface RolloutView {
  id: string;
  kind: 'deploy' | 'rollback' | 'promote' | 'scale' | 'sync';
  app: string;
  environment: string;
  target: 'docker' | 'kubernetes';
  /** scales: the replica count asked for */
  replicas?: number;
  /** scales: the event, once it ended (its outcome is the rollout's status) */
  scale?: ScaleEvent;
  /** deploys: the image asked for; promotions: the source revision's */
  image?: string;
  /** promotions: the environment and revision promoted */
  from?: { environment: string; revision: number };
  /** rollbacks: the revision asked for (default: the newest healthy one before the current that differs from it) */
  to?: number;
  by: string;
  status: RolloutStatus;
  createdAtMs: number;
  finishedAtMs?: number;
  outcome?: DeployOutcome;
  /** where the healthy revision is reached (the docker proxy, or the Service) */
  endpoint?: string;
  /** status `error`: the rollout could not be carried out (no such image or revision, target down) */
  error?: { code: string; message: string };
  /** progress lines so far */
  lineCount: number;
  /** who cancelled it (POST /api/rollouts/{id}/cancel), while it was in progress */
  cancelledBy?: string;
}

const MAX_LINES = 5000;
const KEEP_FINISHED_MS = 60 * 60_000;
const KEEP_FINISHED_COUNT = 200;

class Rollout {
  readonly lines: RolloutLine[] = [];
  readonly changed = new EventEmitter();
  /** aborted by a cancel: the target stops the rollout and restores the serving revision */
  readonly abort = new AbortController();

  constructor(readonly view: RolloutView) {
    // one listener per client following it
    this.changed.setMaxListeners(0);
  }

  get isDone(): boolean {
    return this.view.status !== 'in-progress';
  }

  say(line: string): void {
    if (this.lines.length >= MAX_LINES) return;
    this.lines.push({ seq: this.lines.length + 1, atMs: Date.now(), line });
    this.view.lineCount = this.lines.length;
    this.changed.emit('change');
  }

  finish(patch: Partial<RolloutView>): void {
    Object.assign(this.view, patch, { finishedAtMs: Date.now() });
    this.changed.emit('change');
  }
}

/** The HTTP status of a rollout failure that is known before anything changed. */
export function httpStatusOf(err: DeployError): number {
  switch (err.code) {
    case 'ROLLOUT_INVALID':
      return 422;
    case 'ROLLOUT_NO_REVISION':
      return 404;
    case 'ROLLOUT_FORBIDDEN':
      return 403;
    case 'ROLLOUT_TARGET_UNREACHABLE':
      return 503;
    default:
      return 409;
  }
}

/** A cancel of a rollout that has already ended. */
export class RolloutNotCancellable extends Error {
  constructor(readonly rollout: RolloutView) {
    super(`rollout ${rollout.id} has already ended (${rollout.status}); nothing to cancel`);
  }
}

/** A second rollout of an environment while one runs: refused rather than queued behind it. */
export class RolloutConflict extends Error {
  constructor(readonly running: RolloutView) {
    super(`${running.app}/${running.environment} is being rolled out (rollout ${running.id}, ${running.kind} by ${running.by}); wait for it to end`);
  }
}

export interface DeploymentsOptions {
  store: Store;
  /** the server's deploy targets (the same ones its runs deploy through) */
  targets: TargetFactory;
  /** the deploy data directory the targets keep their revisions in */
  dataDir: string;
  log: (message: string) => void;
  /** told when a rollout starts and ends (the web UI's live pages follow it through GET /api/events) */
  onChange?: (app: string, environment: string) => void;
}

/**
 * The rollouts this server process started through the API. They live in memory: a restarted
 * server (or another replica) no longer knows them, and the revision history is then the record.
 */
export class Deployments {
  private readonly rollouts = new Map<string, Rollout>();

  constructor(private readonly options: DeploymentsOptions) {}

  get(id: string): Rollout | undefined {
    return this.rollouts.get(id);
  }

  /**
   * Cancels a rollout in progress: the target stops it and puts the revision that served before
   * back (as Ctrl-C does to a local `slipway deploy`); the rollout then ends as usual, with that
   * outcome. Undefined when this server does not know the rollout.
   */
  cancel(id: string, by: string): RolloutView | undefined {
    const rollout = this.rollouts.get(id);
    if (!rollout) return undefined;
    if (rollout.isDone) throw new RolloutNotCancellable({ ...rollout.view });
    if (!rollout.abort.signal.aborted) {
      rollout.view.cancelledBy = by;
      rollout.say(`cancelled by ${by}`);
      rollout.abort.abort();
    }
    return { ...rollout.view };
  }

  /** Revisions of an app (one environment, or all, oldest first), from the targets' own history. */
  async history(app: string, environment?: string): Promise<Revision[]> {
    checkNames(app, environment);
    return (await this.options.targets('docker')).history(app, environment);
  }

  /** Changes of the replica count without a new revision, from the targets' event logs, oldest first. */
  async scaleEvents(app: string, environment?: string): Promise<ScaleEvent[]> {
    checkNames(app, environment);
    return readScaleEvents(this.options.dataDir, app, environment);
  }

  /** Every environment (or those of `app`, `environment`) with the rollout under way, if any. */
  async status(app?: string, environment?: string): Promise<Array<EnvironmentStatus & { rollout?: RolloutInProgress }>> {
    checkNames(app, environment);
    const statuses = await environmentStatuses(this.options.targets, this.options.dataDir, app, environment);
    return Promise.all(
      statuses.map(async (status) => {
        const rollout = await this.inProgress(status);
        return rollout ? { ...status, rollout } : status;
      }),
    );
  }

  /**
   * The rollout of an environment under way: one this server started through its API (its lines
   * are followed at /api/rollouts/{id}), else the revision the target says it is rolling out, as
   * its history records it — a run's deploy job is named there by its run, whose log carries the
   * lines. The history is read only for an environment that is rolling out.
   */
  private async inProgress(status: EnvironmentStatus): Promise<RolloutInProgress | undefined> {
    const revision = status.rollingOut !== undefined ? { revision: status.rollingOut } : {};
    for (const rollout of this.rollouts.values()) {
      const { view } = rollout;
      if (!rollout.isDone && view.app === status.app && view.environment === status.environment) {
        return { kind: view.kind, by: view.by, createdAtMs: view.createdAtMs, id: view.id, ...revision };
      }
    }
    if (status.rollingOut === undefined) return undefined;
    const rolling = (await this.history(status.app, status.environment).catch(() => [])).find((r) => r.number === status.rollingOut);
    if (!rolling) return undefined;
    return {
      kind: rolling.trigger.kind,
      by: rolling.trigger.by,
      createdAtMs: Date.parse(rolling.createdAt) || Date.now(),
      ...revision,
      ...(rolling.trigger.runId !== undefined ? { runId: rolling.trigger.runId } : {}),
    };
  }

  /** Validates the request, starts the rollout and returns at once; the rollout goes on. */
  async deploy(app: string, environment: string, body: unknown, by: string): Promise<RolloutView> {
    checkNames(app, environment);
    if (typeof body === 'object' && body !== null && !Array.isArray(body) && 'sync' in body) {
      const { sync, ...rest } = body as Record<string, unknown>;
      if (sync === true) return this.sync(app, environment, rest, by);
      if (sync !== false) throw invalidSync(rest, environment, sync);
      body = rest;
    }
    const { spec, image, force } = parseDeployRequestBody(body, environment);
    const rollout = this.begin({ kind: 'deploy', app, environment, target: spec.target, image, by });
    this.carryOut(rollout, async (say) => {
      const target = await this.options.targets(spec.target);
      return target.deploy({ app, environment, spec, image, ...(force ? { force } : {}), trigger: { by, kind: 'deploy' }, signal: rollout.abort.signal, onProgress: say });
    });
    return { ...rollout.view };
  }

  /**
   * `{"sync": true}`: applies the current revision again with the target it was deployed with,
   * putting back what drifted, without a new revision; followed like a rollout (kind `sync`).
   */
  private async sync(app: string, environment: string, others: Record<string, unknown>, by: string): Promise<RolloutView> {
    refuseBesideSync(others);
    const newest = (await this.history(app, environment)).at(-1);
    if (!newest) throw new DeployError('ROLLOUT_NO_REVISION', `${app}/${environment} has never been deployed, so there is nothing to sync`);
    const target = await this.options.targets(newest.target);
    if (!target.sync) {
      throw new DeployError('ROLLOUT_INVALID', `${app}/${environment} runs on the ${newest.target} target, which keeps its replicas as the current revision says by itself (self-healing): there is nothing to sync`, [{ field: 'sync', message: `not available on the ${newest.target} target` }]);
    }
    const sync = target.sync.bind(target);
    const rollout = this.begin({ kind: 'sync', app, environment, target: newest.target, by });
    this.carryOut(rollout, (say) => sync({ app, environment, by, signal: rollout.abort.signal, onProgress: say }));
    return { ...rollout.view };
  }

  async rollback(app: string, environment: string, body: unknown, by: string): Promise<RolloutView> {
    checkNames(app, environment);
    const to = parseRollbackBody(body);
    // an environment is rolled back with the target it was deployed with
    const newest = (await this.history(app, environment)).at(-1);
    if (!newest) throw new DeployError('ROLLOUT_NO_REVISION', `${app}/${environment} has never been deployed, so there is nothing to roll back to`);
    const rollout = this.begin({ kind: 'rollback', app, environment, target: newest.target, ...(to !== undefined ? { to } : {}), by });
    this.carryOut(rollout, async (say) => {
      const target = await this.options.targets(newest.target);
      return target.rollback({ app, environment, ...(to !== undefined ? { to } : {}), by, signal: rollout.abort.signal, onProgress: say });
    });
    return { ...rollout.view };
  }

  /**
   * Rolls the current revision of `from` (its image reference and config) out to `to`, once the
   * source is healthy, settled and fully ready (see planPromotion); returns at once like deploy.
   */
  async promote(app: string, from: string, to: string, by: string): Promise<RolloutView> {
    const promotion = await planPromotion(this.options.targets, { app, from, to, by });
    const { source, spec, image, trigger } = promotion;
    const rollout = this.begin({ kind: 'promote', app, environment: to, target: spec.target, image, from: { environment: from, revision: source.number }, by });
    this.carryOut(
      rollout,
      async (say) => {
        for (const note of promotion.notes) say(note);
        const target = await this.options.targets(spec.target);
        return target.deploy({ app, environment: to, spec, image, trigger, signal: rollout.abort.signal, onProgress: say });
      },
      { environment: from, number: source.number },
    );
    return { ...rollout.view };
  }

  /**
   * Sets the replica count of the environment's current revision with the target it was deployed
   * with; returns at once, and is followed like a rollout (kind `scale`). No revision is added.
   */
  async scale(app: string, environment: string, body: unknown, by: string): Promise<RolloutView> {
    checkNames(app, environment);
    const replicas = parseScaleBody(body);
    const newest = (await this.history(app, environment)).at(-1);
    if (!newest) throw new DeployError('ROLLOUT_NO_REVISION', `${app}/${environment} has never been deployed, so there is nothing to scale`);
    const rollout = this.begin({ kind: 'scale', app, environment, target: newest.target, replicas, by });
    const { targets, onChange } = this.options;
    onChange?.(app, environment);
    void (async () => {
      try {
        const target = await targets(newest.target);
        const outcome = await target.scale({ app, environment, replicas, by, signal: rollout.abort.signal, onProgress: (line) => rollout.say(line) });
        const endpoint = outcome.outcome === 'healthy' ? (await target.status(app, environment).catch(() => []))[0]?.endpoint : undefined;
        rollout.finish({ status: outcome.unchanged ? 'unchanged' : outcome.outcome, scale: outcome.event, ...(endpoint ? { endpoint } : {}) });
      } catch (err) {
        this.failed(rollout, err);
      }
      onChange?.(app, environment);
    })();
    return { ...rollout.view };
  }

  private begin(fields: Pick<RolloutView, 'kind' | 'app' | 'environment' | 'target' | 'by'> & Partial<Pick<RolloutView, 'image' | 'to' | 'from' | 'replicas'>>): Rollout {
    this.prune();
    for (const other of this.rollouts.values()) {
      if (!other.isDone && other.view.app === fields.app && other.view.environment === fields.environment) throw new RolloutConflict({ ...other.view });
    }
    const id = `ro_${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
    const rollout = new Rollout({ id, ...fields, status: 'in-progress', createdAtMs: Date.now(), lineCount: 0 });
    this.rollouts.set(id, rollout);
    return rollout;
  }

  /** `promotedFrom`: the revision a promotion rolls out, whose project and commit the new one inherits. */
  private carryOut(rollout: Rollout, roll: (say: (line: string) => void) => Promise<DeployOutcome>, promotedFrom?: { environment: string; number: number }): void {
    const { store, targets, log, onChange } = this.options;
    const { app, environment } = rollout.view;
    onChange?.(app, environment);
    void (async () => {
      try {
        const outcome = await roll((line) => rollout.say(line));
        if (outcome.outcome === 'unchanged') {
          // a no-op added no revision, so there is none to record
          rollout.say(describeUnchanged(outcome.revision));
        } else if (outcome.sync) {
          // nor did a sync: the current revision was applied again
        } else {
          await recordRollout(store, outcome, await this.originOf(app, environment, promotedFrom)).catch((err: unknown) => {
            log(`rollout ${rollout.view.id}: revision ${outcome.revision.number} of ${app}/${environment} not recorded: ${(err as Error).message}`);
          });
        }
        let endpoint: string | undefined;
        if (outcome.outcome === 'healthy' || outcome.outcome === 'unchanged') {
          const target = await targets(outcome.revision.target);
          endpoint = (await target.status(app, environment).catch(() => []))[0]?.endpoint;
        }
        rollout.finish({ status: outcome.outcome, outcome, ...(endpoint ? { endpoint } : {}) });
      } catch (err) {
        this.failed(rollout, err);
      }
      onChange?.(app, environment);
    })();
  }

  /** A rollout that could not be carried out: its stable code, or INTERNAL (logged, not shown). */
  private failed(rollout: Rollout, err: unknown): void {
    const code = err instanceof DeployError ? err.code : ((err as { code?: unknown }).code === 'EXECUTOR_ENGINE_UNREACHABLE' ? 'ROLLOUT_TARGET_UNREACHABLE' : 'INTERNAL');
    if (code === 'INTERNAL') this.options.log(`rollout ${rollout.view.id} of ${rollout.view.app}/${rollout.view.environment}: ${(err as Error).stack ?? String(err)}`);
    rollout.finish({ status: 'error', error: { code, message: code === 'INTERNAL' ? 'internal error; see the server log' : (err as Error).message } });
  }

  /**
   * Where an API rollout came from, as far as the store knows: the environment's project (from its
   * earlier revisions) keeps it in the project's DORA metrics; a promotion also takes the source
   * revision's commit, so that production's lead time starts at the commit staging was built from.
   */
  private async originOf(app: string, environment: string, promotedFrom?: { environment: string; number: number }): Promise<{ projectId?: string; commit?: string; commitTimestampMs?: number }> {
    const { store } = this.options;
    if (promotedFrom) {
      const source = (await store.listRevisions({ app, environment: promotedFrom.environment, limit: 200 }).catch(() => [])).find((r) => r.number === promotedFrom.number);
      if (source?.projectId) {
        return {
          projectId: source.projectId,
          ...(source.commit !== undefined ? { commit: source.commit } : {}),
          ...(source.commitTimestampMs !== undefined ? { commitTimestampMs: source.commitTimestampMs } : {}),
        };
      }
    }
    const projectId = (await store.listRevisions({ app, environment, limit: 20 }).catch(() => [])).find((r) => r.projectId)?.projectId;
    return projectId ? { projectId } : {};
  }

  /** Finished rollouts are kept for an hour (the newest 200 at most); running ones always. */
  private prune(): void {
    const finished = [...this.rollouts.values()].filter((r) => r.isDone);
    const cutoff = Date.now() - KEEP_FINISHED_MS;
    finished.forEach((r, i) => {
      if ((r.view.finishedAtMs ?? 0) < cutoff || i < finished.length - KEEP_FINISHED_COUNT) this.rollouts.delete(r.view.id);
    });
  }
}

function checkNames(app: string | undefined, environment: string | undefined): void {
  try {
    if (app !== undefined) checkName('app', app);
    if (environment !== undefined) checkName('environment', environment);
  } catch (err) {
    throw new DeployError('ROLLOUT_INVALID', (err as Error).message);
  }
}

type FieldProblem = { field: string; message: string };

function invalidDeploy(fields: FieldProblem[]): DeployError {
  return new DeployError('ROLLOUT_INVALID', `invalid deploy request: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`, fields);
}

/** {"sync": true} and nothing else: a sync applies the current revision as recorded, so a field beside it would be ignored. */
function refuseBesideSync(others: Record<string, unknown>): void {
  const fields = Object.keys(others).map((field) => ({ field, message: 'not accepted with sync: a sync applies the current revision as recorded (leave sync out to roll out a new revision)' }));
  if (fields.length > 0) throw invalidDeploy(fields);
}

/** A `sync` that is neither true nor false, with whatever else is wrong with the rest of the body. */
function invalidSync(rest: Record<string, unknown>, environment: string, sync: unknown): DeployError {
  const problem = { field: 'sync', message: `true (apply the current revision again) or false, not ${JSON.stringify(sync)?.slice(0, 40) ?? String(sync)}` };
  try {
    parseDeployRequestBody(rest, environment);
  } catch (err) {
    if (err instanceof DeployError) return invalidDeploy([...err.fields, problem]);
    throw err;
  }
  return invalidDeploy([problem]);
}

/** { replicas: 0..1000 }: the route's schema checks it first; this guards the handler on its own. */
function parseScaleBody(body: unknown): number {
  const record = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  const problem = record ? scaleProblem(record.replicas) : 'the body must be a JSON object such as {"replicas": 3}';
  if (problem) throw new DeployError('ROLLOUT_INVALID', `invalid scale request: ${problem}`, [{ field: 'replicas', message: problem.replace(/^replicas: /, '') }]);
  return record?.replicas as number;
}

/** { to?: a revision number }: anything else is refused before anything changes. */
function parseRollbackBody(body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new DeployError('ROLLOUT_INVALID', 'the body must be a JSON object such as {"to": 3} or {}');
  const record = body as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => key !== 'to');
  if (unknown.length > 0) throw new DeployError('ROLLOUT_INVALID', `invalid rollback request: ${unknown.map((k) => `${k}: unknown field (expected to)`).join('; ')}`);
  if (record.to === undefined) return undefined;
  if (typeof record.to !== 'number' || !Number.isInteger(record.to) || record.to < 1) {
    throw new DeployError('ROLLOUT_INVALID', `invalid rollback request: to: a revision number (1 or more), not ${JSON.stringify(record.to)}`);
  }
  return record.to;
}

export type { Rollout };
