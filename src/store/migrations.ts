// The schema, as numbered migrations applied at open inside one transaction and recorded in
// schema_migrations. Both databases read the same SQL; `dialect` covers the few differences.
// Never edit a migration that has shipped: add the next number.
import type { Sql } from './sql/driver.js';
import { StoreError } from './types.js';

interface Dialect {
  /** an integer key the database assigns */
  autoId: string;
}

const DIALECTS: Record<Sql['dialect'], Dialect> = {
  sqlite: { autoId: 'INTEGER PRIMARY KEY' },
  postgres: { autoId: 'BIGSERIAL PRIMARY KEY' },
};

interface Migration {
  version: number;
  name: string;
  sql: (d: Dialect) => string;
}

// Conventions: ids are TEXT, times are BIGINT milliseconds since the epoch, JSON is TEXT,
// booleans are 0/1 INTEGERs (the same bytes on both sides keeps the repository code single).
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: (d) => `
CREATE TABLE store_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE projects (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  allow_auto_create INTEGER NOT NULL DEFAULT 0,
  webhook_secret_enc TEXT,
  commit_status_provider TEXT,
  commit_status_api_url TEXT,
  commit_status_token_enc TEXT,
  run_counter BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  number BIGINT NOT NULL,
  status TEXT NOT NULL,
  trigger_event TEXT NOT NULL,
  branch TEXT NOT NULL,
  commit_sha TEXT NOT NULL,
  commit_message TEXT,
  commit_at BIGINT,
  delivery_id TEXT,
  sender TEXT NOT NULL,
  pipeline TEXT NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 1,
  rerun_of TEXT,
  worker TEXT,
  reason TEXT,
  created_at BIGINT NOT NULL,
  queued_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT,
  logs_deleted_at BIGINT,
  log_seq BIGINT NOT NULL DEFAULT 0,
  event_seq BIGINT NOT NULL DEFAULT 0,
  UNIQUE (project_id, number)
);
-- run ids sort by creation time, so every list is a walk of one of these indexes, newest first
CREATE INDEX runs_by_project ON runs (project_id, id);
CREATE INDEX runs_by_status ON runs (status, id);
CREATE INDEX runs_by_project_branch ON runs (project_id, branch, id);
-- the queue: only queued runs, oldest first
CREATE INDEX runs_queue ON runs (queued_at, id) WHERE status = 'queued';
-- log retention: finished runs whose logs are still kept
CREATE INDEX runs_logs_kept ON runs (finished_at) WHERE logs_deleted_at IS NULL;

CREATE TABLE jobs (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  position INTEGER NOT NULL,
  status TEXT NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 1,
  exit_code INTEGER,
  reason TEXT,
  started_at BIGINT,
  finished_at BIGINT,
  outputs TEXT,
  reused INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, name)
);

CREATE TABLE steps (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  job TEXT NOT NULL,
  idx INTEGER NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 1,
  exit_code INTEGER,
  reason TEXT,
  started_at BIGINT,
  finished_at BIGINT,
  PRIMARY KEY (run_id, job, idx)
);

CREATE TABLE log_lines (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  seq BIGINT NOT NULL,
  job TEXT NOT NULL,
  step INTEGER,
  stream TEXT NOT NULL,
  line TEXT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (run_id, seq)
);

CREATE TABLE run_events (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  seq BIGINT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
);

CREATE TABLE webhook_deliveries (
  provider TEXT NOT NULL,
  delivery_id TEXT NOT NULL,
  project_id TEXT,
  payload_hash TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (provider, delivery_id)
);

CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  hash TEXT NOT NULL,
  scopes TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX tokens_by_prefix ON tokens (prefix);

CREATE TABLE project_secrets (
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value_enc TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (project_id, name)
);

CREATE TABLE revisions (
  app TEXT NOT NULL,
  environment TEXT NOT NULL,
  number INTEGER NOT NULL,
  project_id TEXT,
  target TEXT,
  image TEXT NOT NULL,
  outcome TEXT NOT NULL,
  trigger_kind TEXT NOT NULL,
  trigger_by TEXT NOT NULL,
  commit_sha TEXT,
  commit_at BIGINT,
  run_id TEXT,
  reason TEXT,
  created_at BIGINT NOT NULL,
  finished_at BIGINT,
  PRIMARY KEY (app, environment, number)
);
CREATE INDEX revisions_by_environment ON revisions (environment, created_at);

CREATE TABLE audit_events (
  id ${d.autoId},
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  details TEXT
);
CREATE INDEX audit_by_subject ON audit_events (subject, id);
`,
  },
  {
    version: 2,
    name: 'project remote',
    sql: () => `
ALTER TABLE projects ADD COLUMN remote_url TEXT;
`,
  },
  {
    version: 3,
    name: 'job approvals',
    sql: () => `
ALTER TABLE jobs ADD COLUMN environment TEXT;
ALTER TABLE jobs ADD COLUMN waiting_since BIGINT;
ALTER TABLE jobs ADD COLUMN approval_deadline BIGINT;
ALTER TABLE jobs ADD COLUMN decision TEXT;
ALTER TABLE jobs ADD COLUMN decided_by TEXT;
ALTER TABLE jobs ADD COLUMN decided_at BIGINT;
ALTER TABLE jobs ADD COLUMN decision_reason TEXT;
CREATE INDEX jobs_awaiting_decision ON jobs (approval_deadline) WHERE status = 'waiting' AND decision IS NULL;
`,
  },
  {
    version: 4,
    name: 'sessions',
    // a browser's login: only the SHA-256 of the cookie's secret is kept, bound to the token it was made with
    sql: () => `
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  token_id TEXT NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_token ON sessions (token_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
`,
  },
  {
    version: 5,
    name: 'pull-request runs',
    // the pull request a run tests (JSON), and its number apart: a newer push cancels the older runs of the same one
    sql: () => `
ALTER TABLE runs ADD COLUMN pull_request TEXT;
ALTER TABLE runs ADD COLUMN pr_number BIGINT;
CREATE INDEX runs_by_pull_request ON runs (project_id, pr_number, id) WHERE pr_number IS NOT NULL;
`,
  },
  {
    version: 6,
    name: 'pull request secrets',
    // which pull request runs get the project's secrets: 'same-repository' (a fork's never do) or 'never'
    sql: () => `
ALTER TABLE projects ADD COLUMN pull_request_secrets TEXT NOT NULL DEFAULT 'same-repository';
`,
  },
  {
    version: 7,
    name: 'schedule ticks',
    // one row per claimed tick of an on.schedule entry: the primary key lets one replica claim it
    sql: () => `
CREATE TABLE schedule_ticks (
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  schedule_key TEXT NOT NULL,
  due_at BIGINT NOT NULL,
  run_id TEXT REFERENCES runs(id) ON DELETE SET NULL,
  claimed_at BIGINT NOT NULL,
  PRIMARY KEY (project_id, schedule_key, due_at)
);
`,
  },
  {
    version: 8,
    name: 'preview time to live',
    // a pull request's preview is taken down once nobody deployed to it for this long (its deploy block's ttl)
    sql: () => `
ALTER TABLE revisions ADD COLUMN preview_ttl_ms BIGINT;
`,
  },
  {
    version: 9,
    name: 'worker heartbeats',
    // each server process that claims runs says it is alive here; replicas that stop saying so are
    // taken as gone by the others, wherever they ran
    sql: () => `
CREATE TABLE workers (
  id TEXT PRIMARY KEY,
  seen_at BIGINT NOT NULL
);
`,
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** An arbitrary constant: replicas starting at once take turns migrating (PostgreSQL). */
const MIGRATION_LOCK_KEY = 775_001;

/**
 * Brings the database up to the newest migration; returns its version. A database migrated by a
 * newer Slipway is refused rather than used with the wrong schema.
 */
export async function migrate(sql: Sql, nowMs: number, where: string): Promise<number> {
  const dialect = DIALECTS[sql.dialect];
  return sql.transaction(async (tx) => {
    if (tx.dialect === 'postgres') await tx.get('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK_KEY]);
    await tx.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    const row = await tx.get<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
    const current = Number(row?.v ?? 0);
    if (current > LATEST_SCHEMA_VERSION) {
      throw new StoreError(
        'STORE_SCHEMA_TOO_NEW',
        `the database at ${where} has schema version ${current}, newer than this Slipway knows (${LATEST_SCHEMA_VERSION}); ` +
          'upgrade Slipway, or point it at another database',
      );
    }
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      await tx.exec(migration.sql(dialect));
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        nowMs,
      ]);
    }
    return LATEST_SCHEMA_VERSION;
  });
}
