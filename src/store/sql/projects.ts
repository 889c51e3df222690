// Projects: a name people and URLs use (git, registry, API), and settings whose secrets are sealed.
import { checkProjectName } from '../names.js';
import { newId } from '../ids.js';
import { PULL_REQUEST_SECRETS, StoreError, type Project, type ProjectSettingsPatch, type CommitStatusProvider } from '../types.js';
import type { Context } from './context.js';
import { optStr } from './driver.js';

interface ProjectRow {
  id: string;
  name: string;
  created_at: number;
  allow_auto_create: number;
  webhook_secret_enc: string | null;
  commit_status_provider: string | null;
  commit_status_api_url: string | null;
  commit_status_token_enc: string | null;
  remote_url: string | null;
  pull_request_secrets: string;
}

const COLUMNS =
  'id, name, created_at, allow_auto_create, webhook_secret_enc, commit_status_provider, commit_status_api_url, commit_status_token_enc, remote_url, pull_request_secrets';

const webhookContext = (id: string): string => `project:${id}:webhook-secret`;
const commitTokenContext = (id: string): string => `project:${id}:commit-status-token`;

function toProject(row: ProjectRow): Project {
  const project: Project = {
    id: row.id,
    name: row.name,
    createdAtMs: Number(row.created_at),
    allowAutoCreate: row.allow_auto_create === 1,
    hasWebhookSecret: row.webhook_secret_enc !== null,
    // anything but the stricter word reads as the default, which a fork's runs never benefit from
    pullRequestSecrets: row.pull_request_secrets === 'never' ? 'never' : 'same-repository',
  };
  if (row.commit_status_provider !== null) {
    project.commitStatus = { provider: row.commit_status_provider as CommitStatusProvider };
    const apiUrl = optStr(row.commit_status_api_url);
    if (apiUrl !== undefined) project.commitStatus.apiUrl = apiUrl;
  }
  const remoteUrl = optStr(row.remote_url);
  if (remoteUrl !== undefined) project.remoteUrl = remoteUrl;
  return project;
}

export async function createProject(ctx: Context, input: { name: string; allowAutoCreate?: boolean }): Promise<Project> {
  checkProjectName(input.name);
  const row = await ctx.sql.get<ProjectRow>(
    `INSERT INTO projects (id, name, created_at, allow_auto_create) VALUES (?, ?, ?, ?)
     ON CONFLICT (name) DO NOTHING RETURNING ${COLUMNS}`,
    [newId(ctx.now()), input.name, ctx.now(), input.allowAutoCreate ? 1 : 0],
  );
  if (!row) throw new StoreError('STORE_NAME_TAKEN', `a project named "${input.name}" already exists`);
  return toProject(row);
}

async function getRow(ctx: Context, idOrName: string): Promise<ProjectRow | undefined> {
  return ctx.sql.get<ProjectRow>(`SELECT ${COLUMNS} FROM projects WHERE id = ? OR name = ?`, [idOrName, idOrName]);
}

async function mustGetRow(ctx: Context, projectId: string): Promise<ProjectRow> {
  const row = await getRow(ctx, projectId);
  if (!row) throw new StoreError('STORE_NOT_FOUND', `no project "${projectId}"`);
  return row;
}

export async function getProject(ctx: Context, idOrName: string): Promise<Project | undefined> {
  const row = await getRow(ctx, idOrName);
  return row && toProject(row);
}

export async function listProjects(ctx: Context): Promise<Project[]> {
  const rows = await ctx.sql.all<ProjectRow>(`SELECT ${COLUMNS} FROM projects ORDER BY name`);
  return rows.map(toProject);
}

export async function updateProjectSettings(ctx: Context, projectId: string, patch: ProjectSettingsPatch): Promise<Project> {
  return ctx.sql.transaction(async (sql) => {
    const { id } = await mustGetRow({ ...ctx, sql }, projectId);
    const sets: string[] = [];
    const params: Array<string | number | null> = [];
    if (patch.allowAutoCreate !== undefined) {
      sets.push('allow_auto_create = ?');
      params.push(patch.allowAutoCreate ? 1 : 0);
    }
    if (patch.webhookSecret !== undefined) {
      sets.push('webhook_secret_enc = ?');
      params.push(patch.webhookSecret === null ? null : ctx.box.seal(patch.webhookSecret, webhookContext(id)));
    }
    if (patch.commitStatus !== undefined) {
      const status = patch.commitStatus;
      sets.push('commit_status_provider = ?', 'commit_status_api_url = ?', 'commit_status_token_enc = ?');
      params.push(
        status?.provider ?? null,
        status?.apiUrl ?? null,
        status ? ctx.box.seal(status.token, commitTokenContext(id)) : null,
      );
    }
    if (patch.remoteUrl !== undefined) {
      sets.push('remote_url = ?');
      params.push(patch.remoteUrl);
    }
    if (patch.pullRequestSecrets !== undefined) {
      if (!PULL_REQUEST_SECRETS.includes(patch.pullRequestSecrets)) throw new StoreError('STORE_NAME_INVALID', `pullRequestSecrets is never or same-repository, not ${JSON.stringify(patch.pullRequestSecrets)}`);
      sets.push('pull_request_secrets = ?');
      params.push(patch.pullRequestSecrets);
    }
    if (sets.length > 0) await sql.run(`UPDATE projects SET ${sets.join(', ')} WHERE id = ?`, [...params, id]);
    return toProject(await mustGetRow({ ...ctx, sql }, id));
  });
}

export async function getWebhookSecret(ctx: Context, projectId: string): Promise<string | undefined> {
  const row = await mustGetRow(ctx, projectId);
  return row.webhook_secret_enc === null ? undefined : ctx.box.open(row.webhook_secret_enc, webhookContext(row.id));
}

export async function getCommitStatusToken(ctx: Context, projectId: string): Promise<string | undefined> {
  const row = await mustGetRow(ctx, projectId);
  return row.commit_status_token_enc === null ? undefined : ctx.box.open(row.commit_status_token_enc, commitTokenContext(row.id));
}
