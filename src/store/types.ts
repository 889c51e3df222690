// The Store: every durable fact of a Slipway server behind one interface, so the server runs the
// same on a SQLite file (one host) and on PostgreSQL (several replicas). All methods are async.
import type { RunEvent } from '../engine/index.js';

// ---- errors -------------------------------------------------------------------------------------

export type StoreErrorCode =
  | 'STORE_SCHEMA_TOO_NEW'
  | 'STORE_SECRET_KEY_MISMATCH'
  | 'STORE_SECRET_KEY_INVALID'
  | 'STORE_NAME_INVALID'
  | 'STORE_NAME_TAKEN'
  | 'STORE_NOT_FOUND'
  | 'STORE_RUN_TRANSITION'
  | 'STORE_JOB_NOT_WAITING'
  | 'STORE_TOKEN_INVALID'
  | 'STORE_URL_INVALID'
  | 'STORE_UNAVAILABLE';

/** A failure users can act on: the code is stable, the message says what to do. */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

// ---- projects -----------------------------------------------------------------------------------

export type CommitStatusProvider = 'github' | 'gitea' | 'gitlab';

/** Which pull request runs get the project's secrets: a fork's never do; same-repository ones by default. */
export type PullRequestSecrets = 'never' | 'same-repository';
export const PULL_REQUEST_SECRETS: readonly PullRequestSecrets[] = ['never', 'same-repository'];

export interface Project {
  id: string;
  name: string;
  createdAtMs: number;
  /** push to a missing project creates it (git hosting) */
  allowAutoCreate: boolean;
  /** whether a webhook secret is set; the secret itself comes only from getWebhookSecret */
  hasWebhookSecret: boolean;
  /** commit status reporting: the provider and its API base; the token only from getCommitStatusToken */
  commitStatus?: { provider: CommitStatusProvider; apiUrl?: string };
  /** the forge repository webhook runs fetch from, whatever clone URL a delivery names */
  remoteUrl?: string;
  /** whether same-repository pull request runs get secrets (a fork's never do) */
  pullRequestSecrets: PullRequestSecrets;
}

export interface ProjectSettingsPatch {
  /** null clears it */
  webhookSecret?: string | null;
  allowAutoCreate?: boolean;
  /** null turns commit status reporting off */
  commitStatus?: { provider: CommitStatusProvider; token: string; apiUrl?: string } | null;
  /** null: webhook runs fetch from the delivery's clone URL (on the forge's host) */
  remoteUrl?: string | null;
  /** a fork's pull request runs get no secrets whatever this says */
  pullRequestSecrets?: PullRequestSecrets;
}

// ---- runs, jobs, steps ----------------------------------------------------------------------------

export type TriggerEvent = 'push' | 'webhook' | 'manual' | 'poll' | 'api' | 'pull_request' | 'schedule';
export const TRIGGER_EVENTS: readonly TriggerEvent[] = ['push', 'webhook', 'manual', 'poll', 'api', 'pull_request', 'schedule'];

/** The pull request (merge request) a run tests: it runs the head commit, its checks gate the merge. */
export interface PullRequestRef {
  number: number;
  /** the branch it would merge into (on.pull_request.branches match this) */
  base: string;
  /** its branch (on the fork, for a pull request from a fork) */
  head: string;
  /** from another repository: the run gets no secrets and cannot deploy */
  fork: boolean;
  /** its page on the forge */
  url?: string;
  title?: string;
}

export interface Trigger {
  event: TriggerEvent;
  branch: string;
  commit: string;
  commitMessage?: string;
  /** when the commit was made (ms since epoch): the start of DORA's lead time */
  commitTimestampMs?: number;
  deliveryId?: string;
  /** who or what caused it: a token name, a webhook's sender login, "poller" */
  sender: string;
  /** event pull_request: the pull request; `branch` is its head branch, `commit` its head commit */
  pullRequest?: PullRequestRef;
}

/** `waiting`: parked until a person decides on a manual job; it holds no worker while it waits */
export type RunState = 'queued' | 'running' | 'waiting' | 'success' | 'failure' | 'cancelled' | 'interrupted';
/** every RunState, in the order a run goes through them: the API, metrics and CLI list them from here */
export const RUN_STATES: readonly RunState[] = ['queued', 'running', 'waiting', 'success', 'failure', 'cancelled', 'interrupted'];
export type FinishedRunState = 'success' | 'failure' | 'cancelled' | 'interrupted';
/** A run in such a state has ended: queued, running and waiting ones are still going. */
export const isFinishedRunState = (status: RunState): status is FinishedRunState => status !== 'queued' && status !== 'running' && status !== 'waiting';

export interface Run {
  id: string;
  projectId: string;
  /** 1, 2, 3… per project, for people */
  number: number;
  status: RunState;
  trigger: Trigger;
  /** the compiled pipeline as it was when the run was accepted (JSON) */
  pipeline: unknown;
  /** 1 for the first execution; requeue adds one */
  attempt: number;
  /** the run this one re-runs, if any */
  rerunOf?: string;
  /** the worker (server replica) holding it while running */
  worker?: string;
  reason?: string;
  createdAtMs: number;
  startedAtMs?: number;
  finishedAtMs?: number;
  /** set when the log retention removed this run's logs */
  logsDeletedAtMs?: number;
}

export interface EnqueueRun {
  projectId: string;
  trigger: Trigger;
  pipeline: unknown;
}

export interface RunFilter {
  projectId?: string;
  status?: RunState;
  branch?: string;
  event?: TriggerEvent;
  /** the runs of one pull request (with projectId) */
  pullRequest?: number;
  /** page size, 1..500 (default 50) */
  limit?: number;
  /** the nextCursor of the previous page */
  cursor?: string;
}

/** A run in a list: everything but the pipeline snapshot, which only getRun carries. */
export type RunSummary = Omit<Run, 'pipeline'>;

export interface RunPage {
  runs: RunSummary[];
  /** present when there may be more (older) runs */
  nextCursor?: string;
}

export type JobState = 'pending' | 'waiting' | 'running' | 'success' | 'failure' | 'skipped' | 'cancelled';
export const JOB_STATES: readonly JobState[] = ['pending', 'waiting', 'running', 'success', 'failure', 'skipped', 'cancelled'];

export type JobDecisionKind = 'approved' | 'rejected' | 'expired';

export interface JobDecision {
  kind: JobDecisionKind;
  /** the token name of who decided (absent when the approval timed out) */
  by?: string;
  atMs: number;
  /** a rejection's reason, as given */
  reason?: string;
}

/** A manual job's wait for approval, and the decision on it once there is one. */
export interface JobApproval {
  /** a deploy job's environment: approving it needs deploy or deploy:<environment> */
  environment?: string;
  waitingSinceMs: number;
  /** when it is skipped if nobody decided (approval.timeout) */
  deadlineMs?: number;
  decision?: JobDecision;
}

export interface JobRecord {
  runId: string;
  name: string;
  status: JobState;
  attempt: number;
  exitCode?: number;
  reason?: string;
  startedAtMs?: number;
  finishedAtMs?: number;
  /** what later jobs and re-runs reuse: artifact names, image digests, … (JSON object) */
  outputs?: Record<string, unknown>;
  /** true when this job's result was copied from an earlier run by a failed-jobs re-run */
  reused: boolean;
  /** a manual job: its wait and the decision on it */
  approval?: JobApproval;
}

export interface StepRecord {
  runId: string;
  job: string;
  /** position in the job, from 0 */
  index: number;
  name: string;
  status: JobState;
  attempt: number;
  exitCode?: number;
  reason?: string;
  startedAtMs?: number;
  finishedAtMs?: number;
}

/** Fields left out keep their stored value (an upsert merges). */
export interface JobUpdate {
  runId: string;
  name: string;
  status: JobState;
  attempt?: number;
  exitCode?: number;
  reason?: string;
  startedAtMs?: number;
  finishedAtMs?: number;
  outputs?: Record<string, unknown>;
  /** with `waiting`: what it waits for (kept, with any decision, by later updates) */
  approval?: { environment?: string; waitingSinceMs: number; deadlineMs?: number };
}

export interface StepUpdate {
  runId: string;
  job: string;
  index: number;
  name: string;
  status: JobState;
  attempt?: number;
  exitCode?: number;
  reason?: string;
  startedAtMs?: number;
  finishedAtMs?: number;
}

export interface RunDetail extends Run {
  jobs: Array<JobRecord & { steps: StepRecord[] }>;
}

export type RerunMode = 'all' | 'failed-jobs';

// ---- logs and events -------------------------------------------------------------------------------

export type LogStream = 'stdout' | 'stderr' | 'system';

export interface LogLineInput {
  job: string;
  step?: number;
  stream: LogStream;
  line: string;
  /** when it was produced; default now */
  atMs?: number;
}

export interface LogLine extends Required<Omit<LogLineInput, 'step'>> {
  step?: number;
  /** 1, 2, 3… per run, in the order appended: the SSE event id */
  seq: number;
}

export interface StoredRunEvent {
  /** 1, 2, 3… per run: the SSE event id */
  id: number;
  event: RunEvent;
}

// ---- webhooks -------------------------------------------------------------------------------------

export interface Delivery {
  provider: string;
  deliveryId: string;
  projectId?: string;
  /** sha256 of the body, to tell a true redelivery from an id reused with another payload */
  payloadHash: string;
}

export type DeliveryOutcome = 'new' | 'duplicate';

export type AcceptedDelivery =
  | { outcome: 'new'; runs: Run[] }
  /** the same delivery id, or (for a delivery that starts runs) the same body under any id */
  | { outcome: 'duplicate'; firstSeenAtMs: number };

// ---- schedules ------------------------------------------------------------------------------------

/** One tick of an `on.schedule` entry, claimed with the run it starts. */
export interface ScheduleTickClaim {
  /** the schedule's stable identity in its project (a hash of its cron, branch and timezone) */
  scheduleKey: string;
  /** when the tick was due (ms since the epoch): the same on every replica */
  dueAtMs: number;
  /** the run it starts; its projectId is the schedule's project */
  run: EnqueueRun;
}

// ---- tokens -----------------------------------------------------------------------------------------

/** The plain scopes: what a route of the API declares it needs. */
export type BaseTokenScope = 'read' | 'run' | 'deploy' | 'admin';
/** `deploy:ENV`: read, and deploy, roll back and promote to environment ENV only. */
export type EnvironmentScope = `deploy:${string}`;
export type TokenScope = BaseTokenScope | EnvironmentScope;
export const TOKEN_SCOPES: readonly BaseTokenScope[] = ['read', 'run', 'deploy', 'admin'];
/** A token names at most this many scopes (one per environment it may deploy to, plus the plain ones). */
export const MAX_TOKEN_SCOPES = 32;

export interface TokenInfo {
  id: string;
  name: string;
  scopes: TokenScope[];
  /** the first characters of the secret, shown in lists to tell tokens apart */
  prefix: string;
  createdAtMs: number;
  lastUsedAtMs?: number;
  revokedAtMs?: number;
}

export interface CreateToken {
  name: string;
  scopes: TokenScope[];
  /** import a given secret (SLIPWAY_ADMIN_TOKEN) instead of generating one; 16+ characters */
  secret?: string;
}

export interface VerifiedToken {
  id: string;
  name: string;
  scopes: TokenScope[];
}

// ---- sessions ---------------------------------------------------------------------------------------

/** A browser session ends after this long without a request (a forgotten tab logs itself out). */
export const SESSION_IDLE_MS = 12 * 60 * 60 * 1000;
/** …and this long after its login however busy it is: the cookie's Max-Age. */
export const SESSION_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

/** A login of a browser (the web UI) with a token: it acts with that token's scopes while both live. */
export interface SessionInfo {
  id: string;
  tokenId: string;
  createdAtMs: number;
  lastSeenAtMs: number;
  /** the absolute end; the idle end is lastSeenAtMs + SESSION_IDLE_MS */
  expiresAtMs: number;
}

export interface VerifiedSession {
  session: SessionInfo;
  token: VerifiedToken;
}

// ---- revisions and DORA ------------------------------------------------------------------------------

export type RevisionOutcome = 'in-progress' | 'healthy' | 'failed' | 'rolled-back';

/** The server's mirror of a rollout (deploy/ keeps the target's own history). */
/** An environment a pull-request run deployed to: its preview, taken down when the pull request closes. */
export interface Preview {
  projectId: string;
  pullRequest: number;
  app: string;
  environment: string;
  target: 'docker' | 'kubernetes';
  lastDeployAtMs: number;
  /** its deploy block's ttl, when the deploy recorded one */
  ttlMs?: number;
}

export interface PreviewFilter {
  projectId?: string;
  pullRequest?: number;
  /** only those whose last deploy was before this */
  deployedBeforeMs?: number;
}

export interface RevisionRecord {
  app: string;
  environment: string;
  number: number;
  projectId?: string;
  target?: string;
  image: string;
  outcome: RevisionOutcome;
  /** the target's own history also keeps where a promotion came from (environment and revision) */
  trigger: { kind: 'pipeline' | 'deploy' | 'rollback' | 'promote'; by: string };
  commit?: string;
  /** when the deployed commit was made; if absent, taken from the run's trigger */
  commitTimestampMs?: number;
  runId?: string;
  reason?: string;
  createdAtMs: number;
  finishedAtMs?: number;
  /** a pull request's preview: taken down once nobody deployed to it for this long */
  previewTtlMs?: number;
}

export interface RevisionCount {
  target: string;
  outcome: RevisionOutcome;
  count: number;
}

export interface RevisionFilter {
  app?: string;
  environment?: string;
  projectId?: string;
  limit?: number;
}

export interface DoraWindow {
  projectId?: string;
  app?: string;
  /** default "production" */
  environment?: string;
  sinceMs: number;
  untilMs: number;
}

export interface DoraMetrics {
  windowDays: number;
  deployments: number;
  /** healthy deploys per day */
  deploymentFrequencyPerDay: number;
  /** median commit → healthy rollout; undefined when no deploy carries a commit time */
  leadTimeMedianMs?: number;
  /** (failed + rolled back) / finished deploys; undefined with none */
  changeFailureRate?: number;
  /** median failed deploy → next healthy deploy of the same app and environment */
  timeToRestoreMedianMs?: number;
}

// ---- audit ----------------------------------------------------------------------------------------------

export interface AuditEventInput {
  actor: string;
  action: string;
  subject: string;
  details?: Record<string, unknown>;
  atMs?: number;
}

export interface AuditEvent extends Required<Omit<AuditEventInput, 'details'>> {
  id: number;
  details?: Record<string, unknown>;
}

// ---- the interface --------------------------------------------------------------------------------------

/** The operations inside one transaction: all of the Store but opening and closing. */
export type StoreTx = Omit<Store, 'close' | 'transaction' | 'dialect' | 'schemaVersion'>;

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** the newest migration applied */
  readonly schemaVersion: number;

  /** Runs fn in one transaction: all of it is stored, or none (fn throws). */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;

  // projects
  createProject(input: { name: string; allowAutoCreate?: boolean }): Promise<Project>;
  getProject(idOrName: string): Promise<Project | undefined>;
  listProjects(): Promise<Project[]>;
  updateProjectSettings(projectId: string, patch: ProjectSettingsPatch): Promise<Project>;
  getWebhookSecret(projectId: string): Promise<string | undefined>;
  getCommitStatusToken(projectId: string): Promise<string | undefined>;

  // runs
  enqueueRun(input: EnqueueRun): Promise<Run>;
  /** Takes the oldest queued run for this worker (queued → running), or undefined. Never the same run twice. */
  claimNextRun(worker: string): Promise<Run | undefined>;
  /** Moves a run on; throws STORE_RUN_TRANSITION when the move is not allowed from its current state. */
  updateRunStatus(runId: string, status: RunState, details?: { reason?: string; atMs?: number }): Promise<Run>;
  getRun(runId: string): Promise<Run | undefined>;
  getRunDetail(runId: string): Promise<RunDetail | undefined>;
  listRuns(filter?: RunFilter): Promise<RunPage>;
  /** Each project's newest run (projects without runs have none). */
  lastRuns(): Promise<RunSummary[]>;
  countRuns(filter?: Pick<RunFilter, 'projectId' | 'status'>): Promise<number>;
  /** Crash recovery: every run still "running" becomes "interrupted"; returns them. */
  markInterrupted(reason?: string, worker?: string): Promise<Run[]>;
  /** Puts an interrupted, failed or cancelled run back in the queue as its next attempt. */
  requeueRun(runId: string): Promise<Run>;
  /** Records that this worker (a server process that claims runs) is alive now. */
  recordHeartbeat(worker: string): Promise<void>;
  /**
   * Workers holding running runs whose last heartbeat is older than `silentSinceMs`: replicas that
   * are gone. Workers that never recorded one (servers from before heartbeats) are not judged here.
   */
  silentWorkers(silentSinceMs: number): Promise<string[]>;
  /** A new run of the same commit and pipeline; "failed-jobs" copies the jobs that passed, outputs included. */
  rerun(runId: string, mode: RerunMode, sender: string): Promise<Run>;
  /**
   * Records the one decision on a waiting job (an approval, a rejection, an expiry) and queues its
   * run again when it was parked (waiting). STORE_JOB_NOT_WAITING when the job does not wait or
   * was decided already: of two replicas deciding at once, one wins.
   */
  decideJob(runId: string, job: string, decision: JobDecision): Promise<{ job: JobRecord; run: Run }>;
  /** running → waiting, unless a waiting job of the run was decided meanwhile; true when parked. */
  parkRun(runId: string): Promise<boolean>;
  /** Decides `expired` on every waiting job past its approval deadline; returns how many. */
  expireApprovals(nowMs: number): Promise<number>;

  // jobs and steps
  upsertJob(update: JobUpdate): Promise<JobRecord>;
  upsertStep(update: StepUpdate): Promise<StepRecord>;
  listJobs(runId: string): Promise<JobRecord[]>;

  // logs
  /** Appends lines in order; returns the seq of the first and last stored. */
  appendLogs(runId: string, lines: LogLineInput[]): Promise<{ firstSeq: number; lastSeq: number } | undefined>;
  /** Lines with seq > afterSeq, oldest first. */
  readLogs(runId: string, options?: { afterSeq?: number; limit?: number; job?: string }): Promise<LogLine[]>;
  /** Log retention: removes the logs and events of runs finished before the cutoff. */
  deleteLogsBefore(cutoffMs: number): Promise<{ runs: number; lines: number }>;

  // run events
  appendRunEvents(runId: string, events: RunEvent[]): Promise<number[]>;
  readRunEvents(runId: string, options?: { afterId?: number; limit?: number }): Promise<StoredRunEvent[]>;

  // webhook deliveries
  recordDelivery(delivery: Delivery): Promise<DeliveryOutcome>;
  /** Records the delivery and enqueues its runs in one transaction; a duplicate enqueues nothing. */
  acceptDelivery(delivery: Delivery, runs: EnqueueRun[]): Promise<AcceptedDelivery>;

  // schedules
  /**
   * Claims a schedule's tick and enqueues its run in one transaction; undefined when the tick was
   * claimed already (by another replica, or before a restart): of replicas racing, one wins.
   */
  claimScheduleTick(claim: ScheduleTickClaim): Promise<Run | undefined>;
  /** When the newest claimed tick of a schedule was due (ms), or undefined when none was claimed. */
  lastScheduleTick(projectId: string, scheduleKey: string): Promise<number | undefined>;

  // tokens
  /** Returns the secret: the only time it exists outside the caller. */
  createToken(input: CreateToken): Promise<{ token: TokenInfo; secret: string }>;
  verifyToken(secret: string): Promise<VerifiedToken | undefined>;
  listTokens(): Promise<TokenInfo[]>;
  revokeToken(id: string): Promise<boolean>;

  // sessions (only a hash of the secret is stored; a revoked token ends its sessions)
  /** A session for a live token; returns the secret (the cookie's value): the only time it exists. STORE_NOT_FOUND for a revoked or unknown token. */
  createSession(tokenId: string): Promise<{ session: SessionInfo; secret: string }>;
  /** The session and its token, unless it expired (idle or absolute), was deleted or its token revoked; records the use. */
  verifySession(secret: string): Promise<VerifiedSession | undefined>;
  /** Logout: true when there was such a session. */
  deleteSession(secret: string): Promise<boolean>;
  /** Removes the sessions past their idle or absolute end and those of revoked tokens; returns how many. */
  deleteExpiredSessions(): Promise<number>;

  // project secrets
  setSecret(projectId: string, name: string, value: string): Promise<void>;
  getSecret(projectId: string, name: string): Promise<string | undefined>;
  listSecretNames(projectId: string): Promise<string[]>;
  deleteSecret(projectId: string, name: string): Promise<boolean>;

  // revisions and DORA
  recordRevision(revision: RevisionRecord): Promise<void>;
  updateRevision(
    key: { app: string; environment: string; number: number },
    patch: { outcome?: RevisionOutcome; finishedAtMs?: number; reason?: string },
  ): Promise<RevisionRecord | undefined>;
  listRevisions(filter?: RevisionFilter): Promise<RevisionRecord[]>;
  /** the environments pull-request runs deployed to, each with its last deploy (at most 1000, oldest first) */
  listPreviews(filter?: PreviewFilter): Promise<Preview[]>;
  /** every rollout recorded, counted by target and outcome */
  countRevisions(): Promise<RevisionCount[]>;
  doraMetrics(window: DoraWindow): Promise<DoraMetrics>;

  // audit
  appendAudit(event: AuditEventInput): Promise<AuditEvent>;
  listAudit(options?: { limit?: number; beforeId?: number; subject?: string }): Promise<AuditEvent[]>;
}
