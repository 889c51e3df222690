// The Store over either database: each method hands its work to the entity's module in this
// folder. A transaction is the same class bound to the transaction's connection.
import type { RunEvent } from '../../engine/index.js';
import { KEY_CHECK_CONTEXT, KEY_CHECK_PLAINTEXT, SecretBox } from '../crypto.js';
import { migrate } from '../migrations.js';
import type {
  AuditEventInput,
  CreateToken,
  Delivery,
  DoraWindow,
  EnqueueRun,
  JobUpdate,
  LogLineInput,
  ProjectSettingsPatch,
  JobDecision,
  RerunMode,
  RevisionFilter,
  RevisionOutcome,
  RevisionRecord,
  RunDetail,
  RunFilter,
  PreviewFilter,
  RunState,
  ScheduleTickClaim,
  StepUpdate,
  Store,
  StoreTx,
} from '../types.js';
import * as approvals from './approvals.js';
import * as audit from './audit.js';
import type { Context } from './context.js';
import * as deliveries from './deliveries.js';
import type { Sql } from './driver.js';
import * as jobs from './jobs.js';
import * as logs from './logs.js';
import * as projects from './projects.js';
import * as revisions from './revisions.js';
import * as runs from './runs.js';
import * as schedules from './schedules.js';
import * as secrets from './secrets.js';
import * as sessions from './sessions.js';
import * as tokens from './tokens.js';
import * as workers from './workers.js';

class SqlStoreTx implements StoreTx {
  protected readonly ctx: Context;
  constructor(sql: Sql, box: SecretBox, now: () => number) {
    this.ctx = { sql, box, now };
  }

  createProject(input: { name: string; allowAutoCreate?: boolean }) {
    return projects.createProject(this.ctx, input);
  }
  getProject(idOrName: string) {
    return projects.getProject(this.ctx, idOrName);
  }
  listProjects() {
    return projects.listProjects(this.ctx);
  }
  updateProjectSettings(projectId: string, patch: ProjectSettingsPatch) {
    return projects.updateProjectSettings(this.ctx, projectId, patch);
  }
  getWebhookSecret(projectId: string) {
    return projects.getWebhookSecret(this.ctx, projectId);
  }
  getCommitStatusToken(projectId: string) {
    return projects.getCommitStatusToken(this.ctx, projectId);
  }

  enqueueRun(input: EnqueueRun) {
    return runs.enqueueRun(this.ctx, input);
  }
  claimNextRun(worker: string) {
    return runs.claimNextRun(this.ctx, worker);
  }
  updateRunStatus(runId: string, status: RunState, details?: { reason?: string; atMs?: number }) {
    return runs.updateRunStatus(this.ctx, runId, status, details);
  }
  getRun(runId: string) {
    return runs.getRun(this.ctx, runId);
  }
  async getRunDetail(runId: string): Promise<RunDetail | undefined> {
    const run = await runs.getRun(this.ctx, runId);
    if (!run) return undefined;
    const [jobList, steps] = await Promise.all([jobs.listJobs(this.ctx, runId), jobs.listSteps(this.ctx, runId)]);
    return { ...run, jobs: jobList.map((job) => ({ ...job, steps: steps.filter((s) => s.job === job.name) })) };
  }
  listRuns(filter?: RunFilter) {
    return runs.listRuns(this.ctx, filter);
  }
  lastRuns() {
    return runs.lastRuns(this.ctx);
  }
  countRuns(filter?: Pick<RunFilter, 'projectId' | 'status'>) {
    return runs.countRuns(this.ctx, filter);
  }
  markInterrupted(reason = 'the server stopped while the run was going on', worker?: string) {
    return runs.markInterrupted(this.ctx, reason, worker);
  }
  requeueRun(runId: string) {
    return runs.requeueRun(this.ctx, runId);
  }
  recordHeartbeat(worker: string) {
    return workers.recordHeartbeat(this.ctx, worker);
  }
  silentWorkers(silentSinceMs: number) {
    return workers.silentWorkers(this.ctx, silentSinceMs);
  }
  rerun(runId: string, mode: RerunMode, sender: string) {
    return runs.rerun(this.ctx, runId, mode, sender);
  }
  decideJob(runId: string, job: string, decision: JobDecision) {
    return approvals.decideJob(this.ctx, runId, job, decision);
  }
  parkRun(runId: string) {
    return approvals.parkRun(this.ctx, runId);
  }
  expireApprovals(nowMs: number) {
    return approvals.expireApprovals(this.ctx, nowMs);
  }

  upsertJob(update: JobUpdate) {
    return jobs.upsertJob(this.ctx, update);
  }
  upsertStep(update: StepUpdate) {
    return jobs.upsertStep(this.ctx, update);
  }
  listJobs(runId: string) {
    return jobs.listJobs(this.ctx, runId);
  }

  appendLogs(runId: string, lines: LogLineInput[]) {
    return logs.appendLogs(this.ctx, runId, lines);
  }
  readLogs(runId: string, options?: { afterSeq?: number; limit?: number; job?: string }) {
    return logs.readLogs(this.ctx, runId, options);
  }
  deleteLogsBefore(cutoffMs: number) {
    return logs.deleteLogsBefore(this.ctx, cutoffMs);
  }
  appendRunEvents(runId: string, events: RunEvent[]) {
    return logs.appendRunEvents(this.ctx, runId, events);
  }
  readRunEvents(runId: string, options?: { afterId?: number; limit?: number }) {
    return logs.readRunEvents(this.ctx, runId, options);
  }

  recordDelivery(delivery: Delivery) {
    return deliveries.recordDelivery(this.ctx, delivery);
  }
  acceptDelivery(delivery: Delivery, runList: EnqueueRun[]) {
    return deliveries.acceptDelivery(this.ctx, delivery, runList);
  }

  claimScheduleTick(claim: ScheduleTickClaim) {
    return schedules.claimScheduleTick(this.ctx, claim);
  }
  lastScheduleTick(projectId: string, scheduleKey: string) {
    return schedules.lastScheduleTick(this.ctx, projectId, scheduleKey);
  }

  createToken(input: CreateToken) {
    return tokens.createToken(this.ctx, input);
  }
  verifyToken(secret: string) {
    return tokens.verifyToken(this.ctx, secret);
  }
  listTokens() {
    return tokens.listTokens(this.ctx);
  }
  revokeToken(id: string) {
    return tokens.revokeToken(this.ctx, id);
  }

  createSession(tokenId: string) {
    return sessions.createSession(this.ctx, tokenId);
  }
  verifySession(secret: string) {
    return sessions.verifySession(this.ctx, secret);
  }
  deleteSession(secret: string) {
    return sessions.deleteSession(this.ctx, secret);
  }
  deleteExpiredSessions() {
    return sessions.deleteExpiredSessions(this.ctx);
  }

  setSecret(projectId: string, name: string, value: string) {
    return secrets.setSecret(this.ctx, projectId, name, value);
  }
  getSecret(projectId: string, name: string) {
    return secrets.getSecret(this.ctx, projectId, name);
  }
  listSecretNames(projectId: string) {
    return secrets.listSecretNames(this.ctx, projectId);
  }
  deleteSecret(projectId: string, name: string) {
    return secrets.deleteSecret(this.ctx, projectId, name);
  }

  recordRevision(revision: RevisionRecord) {
    return revisions.recordRevision(this.ctx, revision);
  }
  updateRevision(
    key: { app: string; environment: string; number: number },
    patch: { outcome?: RevisionOutcome; finishedAtMs?: number; reason?: string },
  ) {
    return revisions.updateRevision(this.ctx, key, patch);
  }
  listRevisions(filter?: RevisionFilter) {
    return revisions.listRevisions(this.ctx, filter);
  }
  listPreviews(filter?: PreviewFilter) {
    return revisions.listPreviews(this.ctx, filter);
  }
  countRevisions() {
    return revisions.countRevisions(this.ctx);
  }
  doraMetrics(window: DoraWindow) {
    return revisions.doraMetrics(this.ctx, window);
  }

  appendAudit(event: AuditEventInput) {
    return audit.appendAudit(this.ctx, event);
  }
  listAudit(options?: { limit?: number; beforeId?: number; subject?: string }) {
    return audit.listAudit(this.ctx, options);
  }
}

class SqlStore extends SqlStoreTx implements Store {
  readonly dialect: Store['dialect'];
  constructor(
    sql: Sql,
    box: SecretBox,
    now: () => number,
    readonly schemaVersion: number,
    private readonly closeConnection: () => Promise<void>,
  ) {
    super(sql, box, now);
    this.dialect = sql.dialect;
  }

  /** Use only `tx` inside fn: on SQLite the store itself waits for the transaction to end. */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.ctx.sql.transaction((sql) => fn(new SqlStoreTx(sql, this.ctx.box, this.ctx.now)));
  }

  close(): Promise<void> {
    return this.closeConnection();
  }
}

export interface OpenSqlStore {
  sql: Sql;
  box: SecretBox;
  now: () => number;
  /** where the database is, for messages (a file path, or a URL without its password) */
  where: string;
  close: () => Promise<void>;
}

/** Migrates, checks the secret key against the database, and returns the Store. */
export async function openSqlStore(options: OpenSqlStore): Promise<Store> {
  const { sql, box, now } = options;
  try {
    const version = await migrate(sql, now(), options.where);
    await checkSecretKey(sql, box);
    return new SqlStore(sql, box, now, version, options.close);
  } catch (error) {
    await options.close().catch(() => undefined);
    throw error;
  }
}

async function checkSecretKey(sql: Sql, box: SecretBox): Promise<void> {
  await sql.run('INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', [
    'key_check',
    box.seal(KEY_CHECK_PLAINTEXT, KEY_CHECK_CONTEXT),
  ]);
  const row = await sql.get<{ value: string }>('SELECT value FROM store_meta WHERE key = ?', ['key_check']);
  // throws STORE_SECRET_KEY_MISMATCH with what to do
  if (box.open(row!.value, KEY_CHECK_CONTEXT) !== KEY_CHECK_PLAINTEXT) throw box.mismatch();
}
