// The admin token's file (DATA/admin-token) and the other secrets kept in files: read, or made
// once with mode 0600 — the one way `slipway server` and `slipway registry serve` do it.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export function adminTokenFile(dataDir: string): string {
  return path.join(dataDir, 'admin-token');
}

/** A secret file's content without its line end; undefined when there is no such file. */
export async function readSecretFile(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Reads a secret file, or creates it exclusively (0600) from `make`; a concurrent creator's file wins. */
export async function readOrCreateSecretFile(file: string, make: () => string): Promise<{ secret: string; created: boolean }> {
  const existing = await readSecretFile(file);
  if (existing !== undefined) return { secret: existing, created: false };
  await mkdir(path.dirname(file), { recursive: true });
  const secret = make();
  try {
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { secret: (await readFile(file, 'utf8')).trim(), created: false };
  }
  await chmod(file, 0o600); // whatever the umask
  return { secret, created: true };
}

/**
 * The admin token: SLIPWAY_ADMIN_TOKEN if set, else `file`'s, else a new one written there
 * (0600); `created` tells the caller to print it, that once.
 */
export async function ensureAdminToken(file: string, env: NodeJS.ProcessEnv): Promise<{ secret: string; created: boolean }> {
  const fromEnv = env.SLIPWAY_ADMIN_TOKEN;
  if (fromEnv) return { secret: fromEnv, created: false };
  return readOrCreateSecretFile(file, () => `slw_${randomBytes(24).toString('base64url')}`);
}
