// The admin token file is read or made the one way: the environment wins, an existing file is
// read, a new one is made once with mode 0600, and concurrent starts agree on one token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { adminTokenFile, ensureAdminToken, readSecretFile } from './admin-token.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-http-token-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('SLIPWAY_ADMIN_TOKEN wins and nothing is written', async (t) => {
  const file = adminTokenFile(await tempDir(t));
  assert.deepEqual(await ensureAdminToken(file, { SLIPWAY_ADMIN_TOKEN: 'from-env-0123456789' }), { secret: 'from-env-0123456789', created: false });
  assert.equal(await readSecretFile(file), undefined);
});

test('a new token is made once (0600, in a directory made for it) and read back after', async (t) => {
  const file = adminTokenFile(path.join(await tempDir(t), 'data'));
  const first = await ensureAdminToken(file, {});
  assert.equal(first.created, true);
  assert.match(first.secret, /^slw_[A-Za-z0-9_-]{32}$/);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.deepEqual(await ensureAdminToken(file, {}), { secret: first.secret, created: false });
  assert.equal(await readFile(file, 'utf8'), `${first.secret}\n`);
});

test('an existing file is read without its line end; concurrent starts agree on one token', async (t) => {
  const dir = await tempDir(t);
  await writeFile(adminTokenFile(dir), '  hand-written-token-0123456789\n');
  assert.deepEqual(await ensureAdminToken(adminTokenFile(dir), {}), { secret: 'hand-written-token-0123456789', created: false });
  const fresh = adminTokenFile(path.join(dir, 'fresh'));
  const results = await Promise.all(Array.from({ length: 8 }, () => ensureAdminToken(fresh, {})));
  assert.equal(new Set(results.map((r) => r.secret)).size, 1);
  assert.equal(results.filter((r) => r.created).length, 1);
});

test('a token file that cannot be read is an error, not a reason to make another', async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(ensureAdminToken(dir, {}), /EISDIR/);
});
