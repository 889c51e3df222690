// Who may pull and push: the Bearer challenge and token endpoint docker uses, Basic auth on
// each request, read-only tokens, anonymous pull (global and per repository), and the admin
// token `slipway registry serve` makes on first start.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { slipwayBin } from '../support/paths.js';
import { ADMIN, basic, call, errorCode, PUSHER, pushImage, READER, sha256, startRegistry, type TestRegistry } from './support.js';

let reg: TestRegistry;
before(async () => {
  reg = await startRegistry();
  await pushImage(reg, 'auth/app', 'v1');
});
after(async () => {
  await reg.close();
});

async function token(scope: string, secret?: string): Promise<{ status: number; token?: string }> {
  const headers: Record<string, string> = {};
  if (secret) headers.authorization = basic(secret);
  const res = await fetch(`${reg.url}/v2/token?service=slipway-registry&scope=${encodeURIComponent(scope)}`, { headers });
  const body = (await res.json()) as { token?: string };
  return { status: res.status, ...(body.token ? { token: body.token } : {}) };
}

describe('registry auth', () => {
  test('no credentials: 401 with a Bearer challenge naming realm, service and scope', async () => {
    const base = await call(reg, 'GET', '/v2/', { headers: { authorization: '' } });
    assert.equal(base.status, 401);
    assert.equal(base.headers.get('www-authenticate'), `Bearer realm="${reg.url}/v2/token",service="slipway-registry"`);
    assert.equal(await errorCode(base), 'UNAUTHORIZED');
    const pull = await call(reg, 'GET', '/v2/auth/app/manifests/v1', { headers: { authorization: '' } });
    assert.equal(pull.status, 401);
    assert.equal(pull.headers.get('www-authenticate'), `Bearer realm="${reg.url}/v2/token",service="slipway-registry",scope="repository:auth/app:pull"`);
    await pull.arrayBuffer();
  });

  test('a wrong token is refused at the token endpoint and on Basic requests', async () => {
    assert.equal((await token('repository:auth/app:pull', 'wrong')).status, 401);
    const res = await call(reg, 'GET', '/v2/', { headers: { authorization: basic('wrong') } });
    assert.equal(res.status, 401);
    await res.arrayBuffer();
  });

  test('the token endpoint trades a Slipway token for a Bearer token scoped to what it may do', async () => {
    const granted = await token('repository:auth/app:pull,push', ADMIN);
    assert.equal(granted.status, 200);
    const bearer = { authorization: `Bearer ${granted.token}` };
    assert.equal((await call(reg, 'GET', '/v2/', { headers: bearer })).status, 200);
    const pull = await call(reg, 'GET', '/v2/auth/app/manifests/v1', { headers: bearer });
    assert.equal(pull.status, 200);
    await pull.arrayBuffer();
    const upload = await call(reg, 'POST', '/v2/auth/app/blobs/uploads/', { headers: bearer });
    assert.equal(upload.status, 202);
    // the token is for auth/app only
    const other = await call(reg, 'GET', '/v2/auth/other/tags/list', { headers: bearer });
    assert.equal(other.status, 401);
    assert.match(other.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
    await other.arrayBuffer();
    const tampered = await call(reg, 'GET', '/v2/', { headers: { authorization: `Bearer ${granted.token}x` } });
    assert.equal(tampered.status, 401);
    await tampered.arrayBuffer();
  });

  test('a read-only token pulls but cannot push, by Basic auth or by Bearer token', async () => {
    const pull = await call(reg, 'GET', '/v2/auth/app/manifests/v1', { headers: { authorization: basic(READER) } });
    assert.equal(pull.status, 200);
    await pull.arrayBuffer();
    const push = await call(reg, 'POST', `/v2/auth/app/blobs/uploads/?digest=${sha256('x')}`, { body: 'x', headers: { authorization: basic(READER) } });
    assert.equal(push.status, 403);
    assert.equal(await errorCode(push), 'DENIED');
    const granted = await token('repository:auth/app:pull,push', READER);
    const upload = await call(reg, 'POST', '/v2/auth/app/blobs/uploads/', { headers: { authorization: `Bearer ${granted.token}` } });
    assert.equal(upload.status, 401);
    assert.match(upload.headers.get('www-authenticate') ?? '', /scope="repository:auth\/app:pull,push",error="insufficient_scope"/);
    await upload.arrayBuffer();
    const del = await call(reg, 'DELETE', '/v2/auth/app/manifests/v1', { headers: { authorization: basic(READER) } });
    assert.equal(del.status, 403);
    await del.arrayBuffer();
  });

  test('a repository-scoped token pushes only where its scope says', async () => {
    await pushImage(reg, 'team/web', 'v1');
    const ok = await call(reg, 'POST', '/v2/team/web/blobs/uploads/', { headers: { authorization: basic(PUSHER) } });
    assert.equal(ok.status, 202);
    const denied = await call(reg, 'POST', '/v2/auth/app/blobs/uploads/', { headers: { authorization: basic(PUSHER) } });
    assert.equal(denied.status, 403);
    await denied.arrayBuffer();
  });

  test('anonymous pull, per repository and then globally, never anonymous push', async () => {
    const anon = { authorization: '' };
    const config = path.join(reg.dataDir, 'config.json');
    await writeFile(config, JSON.stringify({ repositories: { 'auth/app': { anonymousPull: true } } }));
    await new Promise((r) => setTimeout(r, 1100)); // the config is re-read at most once a second
    const pull = await call(reg, 'GET', '/v2/auth/app/manifests/v1', { headers: anon });
    assert.equal(pull.status, 200);
    await pull.arrayBuffer();
    const anonToken = await token('repository:auth/app:pull,push');
    assert.equal(anonToken.status, 200);
    const viaToken = await call(reg, 'GET', '/v2/auth/app/tags/list', { headers: { authorization: `Bearer ${anonToken.token}` } });
    assert.equal(viaToken.status, 200);
    await viaToken.arrayBuffer();
    const push = await call(reg, 'POST', '/v2/auth/app/blobs/uploads/', { headers: { authorization: `Bearer ${anonToken.token}` } });
    assert.equal(push.status, 401);
    await push.arrayBuffer();
    const otherRepo = await call(reg, 'GET', '/v2/team/web/tags/list', { headers: anon });
    assert.equal(otherRepo.status, 401);
    await otherRepo.arrayBuffer();

    await writeFile(config, JSON.stringify({ anonymousPull: true }));
    await new Promise((r) => setTimeout(r, 1100));
    const now = await call(reg, 'GET', '/v2/team/web/tags/list', { headers: anon });
    assert.equal(now.status, 200);
    await now.arrayBuffer();
    const anonPush = await call(reg, 'POST', '/v2/team/web/blobs/uploads/', { headers: anon });
    assert.equal(anonPush.status, 401);
    await anonPush.arrayBuffer();
    await rm(config);
  });

  test('registry serve prints a new admin token once, keeps it 0600, and SLIPWAY_ADMIN_TOKEN overrides it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-registry-serve-'));
    try {
      const first = await serveOnce(dir, {});
      const stored = (await readFile(path.join(dir, 'admin-token'), 'utf8')).trim();
      assert.ok(first.includes(stored), 'the first start prints the token');
      assert.equal((await stat(path.join(dir, 'admin-token'))).mode & 0o777, 0o600);
      const second = await serveOnce(dir, {}, stored);
      assert.ok(!second.includes(stored), 'later starts do not print it');
      await serveOnce(dir, { SLIPWAY_ADMIN_TOKEN: 'from-the-environment' }, 'from-the-environment');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Starts `slipway registry serve --port 0`, checks the token works against /v2/, stops it. */
async function serveOnce(dir: string, env: Record<string, string>, expectToken?: string): Promise<string> {
  const child = spawn(process.execPath, [slipwayBin, 'registry', 'serve', '--port', '0', '--data', dir], {
    env: { ...process.env, SLIPWAY_ADMIN_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: string) => {
      out += c;
      const m = /listening on (http:\/\/[^/]+)\/v2\//.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
  try {
    const secret = expectToken ?? (await readFile(path.join(dir, 'admin-token'), 'utf8')).trim();
    const res = await fetch(`${url}/v2/`, { headers: { authorization: basic(secret) } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  return out;
}
