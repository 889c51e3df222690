// Project secrets: values sealed with the store's key, bound to their project and name.
import { StoreError } from '../types.js';
import type { Context } from './context.js';

const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const context = (projectId: string, name: string): string => `secret:${projectId}:${name}`;

function checkName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new StoreError(
      'STORE_NAME_INVALID',
      `secret name "${name}" is not valid: it becomes an environment variable, so use letters, digits and "_", not starting with a digit`,
    );
  }
}

export async function setSecret(ctx: Context, projectId: string, name: string, value: string): Promise<void> {
  checkName(name);
  const project = await ctx.sql.get('SELECT id FROM projects WHERE id = ?', [projectId]);
  if (!project) throw new StoreError('STORE_NOT_FOUND', `no project with id "${projectId}"`);
  const now = ctx.now();
  await ctx.sql.run(
    `INSERT INTO project_secrets (project_id, name, value_enc, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (project_id, name) DO UPDATE SET value_enc = excluded.value_enc, updated_at = excluded.updated_at`,
    [projectId, name, ctx.box.seal(value, context(projectId, name)), now, now],
  );
}

export async function getSecret(ctx: Context, projectId: string, name: string): Promise<string | undefined> {
  const row = await ctx.sql.get<{ value_enc: string }>('SELECT value_enc FROM project_secrets WHERE project_id = ? AND name = ?', [
    projectId,
    name,
  ]);
  return row && ctx.box.open(row.value_enc, context(projectId, name));
}

export async function listSecretNames(ctx: Context, projectId: string): Promise<string[]> {
  const rows = await ctx.sql.all<{ name: string }>('SELECT name FROM project_secrets WHERE project_id = ? ORDER BY name', [projectId]);
  return rows.map((r) => r.name);
}

export async function deleteSecret(ctx: Context, projectId: string, name: string): Promise<boolean> {
  return (await ctx.sql.run('DELETE FROM project_secrets WHERE project_id = ? AND name = ?', [projectId, name])) === 1;
}
