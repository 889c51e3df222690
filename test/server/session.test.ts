// Browser sessions on a real server: login with a token sets an HttpOnly, SameSite=Strict cookie
// that acts with the token's scopes; logout and revocation end it; and the attacker's side — a
// page of another site cannot use the cookie to change anything (CSRF), nor log the browser in.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { testServer, type TestServer } from './support.js';

let server: TestServer;
let own = '';

before(async () => {
  server = await testServer({ concurrency: 0 });
  own = server.url;
});

after(async () => {
  await server.stop();
});

interface Answer<T> {
  status: number;
  body: T;
  headers: Headers;
}

type ErrorAnswer = { error: { code: string; message: string } };

interface CallOptions {
  method?: string;
  body?: unknown;
  cookie?: string;
  bearer?: string;
  headers?: Record<string, string>;
}

async function call<T = unknown>(p: string, options: CallOptions = {}): Promise<Answer<T>> {
  const res = await fetch(`${server.url}${p}`, {
    method: options.method ?? 'GET',
    headers: {
      ...(options.cookie !== undefined ? { Cookie: `slipway_session=${options.cookie}` } : {}),
      ...(options.bearer !== undefined ? { Authorization: `Bearer ${options.bearer}` } : {}),
      ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

/** What a page of this server sends with a state-changing fetch. */
const sameOrigin = (): Record<string, string> => ({ Origin: own, 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'cors' });
const EVIL = { Origin: 'http://evil.example', 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'cors' };

/** Logs in as a browser page would; the cookie's value. */
async function login(token: string): Promise<string> {
  const res = await call<{ name: string }>('/api/session', { method: 'POST', body: { token }, headers: sameOrigin() });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const value = /^slipway_session=([^;]+);/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  assert.ok(value, 'a session cookie is set');
  return value;
}

function sessionRows(): number {
  const db = new Database(path.join(server.data, 'slipway.db'), { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM sessions').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function tokenNames(): Promise<string[]> {
  return (await server.api<{ tokens: Array<{ name: string; revokedAtMs?: number }> }>('/api/tokens')).body.tokens.filter((t) => !t.revokedAtMs).map((t) => t.name).sort();
}

describe('login, the cookie, logout', () => {
  test('login with a token sets an HttpOnly, SameSite=Strict cookie for the whole server, for 7 days, that nobody caches', async () => {
    const reader = await server.tokenWith(['read'], 'viewer');
    const res = await call<{ name: string; scopes: string[] }>('/api/session', { method: 'POST', body: { token: reader }, headers: sameOrigin() });
    assert.equal(res.status, 201);
    assert.deepEqual(res.body, { name: 'viewer', scopes: ['read'] });
    assert.match(res.headers.get('set-cookie') ?? '', /^slipway_session=[A-Za-z0-9_-]{43}; Max-Age=604800; Path=\/; HttpOnly; SameSite=Strict$/, 'no Secure over plain http');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.doesNotMatch(JSON.stringify(res.body), /slw_|[A-Za-z0-9_-]{43}/, 'the cookie secret is not in the body');
  });

  test('over https (TLS, or a proxy saying X-Forwarded-Proto: https) the cookie is also Secure', async () => {
    const res = await call('/api/session', { method: 'POST', body: { token: server.token }, headers: { 'X-Forwarded-Proto': 'https' } });
    assert.equal(res.status, 201);
    assert.match(res.headers.get('set-cookie') ?? '', /; HttpOnly; SameSite=Strict; Secure$/);
  });

  test('the cookie says who it is, and authenticates API calls with its token’s scopes only', async () => {
    const reader = await server.tokenWith(['read'], 'reader-2');
    const cookie = await login(reader);
    const who = await call<{ name: string; scopes: string[] }>('/api/session', { cookie });
    assert.equal(who.status, 200);
    assert.deepEqual(who.body, { name: 'reader-2', scopes: ['read'] });
    assert.equal((await call('/api/projects', { cookie })).status, 200);
    const denied = await call<ErrorAnswer>('/api/projects', { method: 'POST', cookie, body: { name: 'by-reader' }, headers: sameOrigin() });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error.code, 'AUTH_SCOPE');
    assert.equal((await call('/api/projects/by-reader', { bearer: server.token })).status, 404, 'nothing was made');

    const admin = await login(server.token);
    const made = await call('/api/projects', { method: 'POST', cookie: admin, body: { name: 'by-admin-cookie' }, headers: sameOrigin() });
    assert.equal(made.status, 201);
  });

  test('without a cookie or token, GET /api/session is a 401; a page’s script gets no Basic challenge (no browser password dialog)', async () => {
    const bare = await call<ErrorAnswer>('/api/session');
    assert.equal(bare.status, 401);
    assert.equal(bare.body.error.code, 'AUTH_REQUIRED');
    assert.match(bare.headers.get('www-authenticate') ?? '', /Basic/, 'curl and friends still get the challenge');
    const page = await call('/api/session', { headers: { 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'cors' } });
    assert.equal(page.status, 401);
    assert.equal(page.headers.get('www-authenticate'), null);
    const bearer = await call<{ name: string }>('/api/session', { bearer: server.token });
    assert.equal(bearer.body.name, 'admin', 'a Bearer token answers too');
  });

  test('logout ends the session on the server and clears the cookie: the old cookie, replayed, no longer works', async () => {
    const cookie = await login(server.token);
    const before = sessionRows();
    const out = await call<{ ok: boolean }>('/api/session', { method: 'DELETE', cookie, headers: sameOrigin() });
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie') ?? '', /^slipway_session=; Max-Age=0; Path=\/; HttpOnly; SameSite=Strict$/);
    assert.equal(sessionRows(), before - 1);
    const replay = await call<ErrorAnswer>('/api/session', { cookie });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.error.code, 'AUTH_SESSION_ENDED');
    assert.equal(replay.headers.get('www-authenticate'), null, 'no challenge for a cookie');
    assert.equal((await call('/api/projects', { cookie })).status, 401);
    assert.equal((await call('/api/session', { method: 'DELETE', headers: sameOrigin() })).status, 200, 'logging out twice is fine');
  });

  test("revoking the token ends its sessions at once", async () => {
    const created = await server.api<{ id: string; secret: string }>('/api/tokens', { method: 'POST', body: { name: 'soon-revoked', scopes: ['run'] } });
    const cookie = await login(created.body.secret);
    assert.equal((await call('/api/session', { cookie })).status, 200);
    assert.equal((await server.api(`/api/tokens/${created.body.id}`, { method: 'DELETE' })).status, 200);
    const after = await call<ErrorAnswer>('/api/runs', { cookie });
    assert.equal(after.status, 401);
    assert.equal(after.body.error.code, 'AUTH_SESSION_ENDED');
    const again = await call<ErrorAnswer>('/api/session', { method: 'POST', body: { token: created.body.secret }, headers: sameOrigin() });
    assert.equal(again.status, 401, 'nor can it log in again');
  });
});

describe("the attacker's side", () => {
  test('a bad, revoked or malformed token gets one generic 401, no cookie, and nothing stored', async () => {
    const before = sessionRows();
    const answers: Array<Answer<ErrorAnswer>> = [];
    for (const token of ['slw_not-a-real-token-at-all', server.token + 'x', 'x', "' OR 1=1 --"]) {
      answers.push(await call<ErrorAnswer>('/api/session', { method: 'POST', body: { token }, headers: sameOrigin() }));
    }
    for (const res of answers) {
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'LOGIN_FAILED');
      assert.equal(res.body.error.message, answers[0]!.body.error.message, 'one message for every refusal');
      assert.equal(res.headers.get('set-cookie'), null);
    }
    const malformed = await call<ErrorAnswer>('/api/session', { method: 'POST', body: { token: 42, extra: true }, headers: sameOrigin() });
    assert.equal(malformed.status, 422);
    assert.equal(malformed.body.error.code, 'LOGIN_INVALID');
    const huge = await call<ErrorAnswer>('/api/session', { method: 'POST', body: { token: 'x'.repeat(2 * 1024 * 1024) }, headers: sameOrigin() });
    assert.equal(huge.status, 413, 'bodies are bounded as on every route');
    assert.equal(sessionRows(), before);
  });

  test('a forged or garbage cookie is a 401, and a bad Authorization header is not rescued by a good cookie', async () => {
    for (const cookie of ['A'.repeat(43), 'nope', '%27%20OR%201%3D1']) {
      const res = await call<ErrorAnswer>('/api/projects', { cookie });
      assert.equal(res.status, 401, cookie);
    }
    const cookie = await login(server.token);
    const res = await call<ErrorAnswer>('/api/projects', { cookie, bearer: 'slw_wrong-wrong-wrong-wrong' });
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'AUTH_INVALID');
  });

  test('a cookie POST from another origin is a 403 CSRF_ORIGIN and changes nothing (create a token, revoke one, cancel a run)', async () => {
    const cookie = await login(server.token);
    const names = await tokenNames();
    const created = await call<ErrorAnswer>('/api/tokens', { method: 'POST', cookie, body: { name: 'planted', scopes: ['admin'] }, headers: EVIL });
    assert.equal(created.status, 403);
    assert.equal(created.body.error.code, 'CSRF_ORIGIN');
    assert.match(created.body.error.message, /evil\.example/);
    const victim = await server.api<{ id: string; secret: string }>('/api/tokens', { method: 'POST', body: { name: 'victim', scopes: ['read'] } });
    const revoked = await call<ErrorAnswer>(`/api/tokens/${victim.body.id}`, { method: 'DELETE', cookie, headers: EVIL });
    assert.equal(revoked.status, 403);
    const cancel = await call<ErrorAnswer>('/api/runs/01ANYRUN/cancel', { method: 'POST', cookie, headers: EVIL });
    assert.equal(cancel.status, 403, 'refused before the run is even looked up');
    assert.equal(cancel.body.error.code, 'CSRF_ORIGIN');
    assert.deepEqual(await tokenNames(), [...names, 'victim'].sort(), 'nothing planted, nothing revoked');
  });

  test('every way of not being this server’s page is refused: no Origin and no Sec-Fetch-Site, Origin null, another scheme or port, a look-alike host, Sec-Fetch-Site same-site', async () => {
    const cookie = await login(server.token);
    const port = new URL(own).port;
    const refused: Array<Record<string, string>> = [
      {},
      { Origin: 'null' },
      { Origin: `https://127.0.0.1:${port}` },
      { Origin: `http://127.0.0.1:${Number(port) + 1}` },
      { Origin: `http://127.0.0.1:${port}.evil.example` },
      { Origin: `${own}/` },
      { Origin: `http://localhost:${port}` },
      { 'Sec-Fetch-Site': 'same-site' },
      { 'Sec-Fetch-Site': 'cross-site' },
      { 'Sec-Fetch-Site': 'none' },
      { Origin: 'http://evil.example', 'Sec-Fetch-Site': 'same-origin' },
    ];
    for (const headers of refused) {
      const res = await call<ErrorAnswer>('/api/projects', { method: 'POST', cookie, body: { name: 'csrf-probe' }, headers });
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.equal(res.body.error.code, 'CSRF_ORIGIN', JSON.stringify(headers));
    }
    assert.equal((await server.api('/api/projects/csrf-probe')).status, 404, 'nothing was made');
  });

  test('this server’s own pages pass: Origin equal to its own, or without Origin Sec-Fetch-Site: same-origin', async () => {
    const cookie = await login(server.token);
    assert.equal((await call('/api/projects', { method: 'POST', cookie, body: { name: 'same-origin-a' }, headers: { Origin: own } })).status, 201);
    assert.equal((await call('/api/projects', { method: 'POST', cookie, body: { name: 'same-origin-b' }, headers: { 'Sec-Fetch-Site': 'same-origin' } })).status, 201);
  });

  test('Bearer and Basic requests are not under the cookie rule: no Origin, or even another one, passes', async () => {
    assert.equal((await call('/api/projects', { method: 'POST', bearer: server.token, body: { name: 'by-bearer' } })).status, 201);
    const cookie = await login(server.token);
    assert.equal((await call('/api/projects', { method: 'POST', bearer: server.token, cookie, body: { name: 'by-bearer-2' }, headers: EVIL })).status, 201);
    const basic = Buffer.from(`anyone:${server.token}`).toString('base64');
    assert.equal((await call('/api/projects', { method: 'POST', body: { name: 'by-basic' }, headers: { Authorization: `Basic ${basic}` } })).status, 201);
  });

  test('login CSRF: a browser login from another site is refused and stores nothing; tools without Origin may log in', async () => {
    const before = sessionRows();
    const browsers: Array<Record<string, string>> = [EVIL, { Origin: 'null' }, { 'Sec-Fetch-Site': 'cross-site' }];
    for (const headers of browsers) {
      const res = await call<ErrorAnswer>('/api/session', { method: 'POST', body: { token: server.token }, headers });
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.equal(res.body.error.code, 'CSRF_ORIGIN');
      assert.equal(res.headers.get('set-cookie'), null);
    }
    assert.equal(sessionRows(), before);
    const tool = await call('/api/session', { method: 'POST', body: { token: server.token } });
    assert.equal(tool.status, 201);
  });

  test('logout from another site is refused: the session lives on', async () => {
    const cookie = await login(server.token);
    const res = await call<ErrorAnswer>('/api/session', { method: 'DELETE', cookie, headers: EVIL });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('set-cookie'), null);
    assert.equal((await call('/api/session', { cookie })).status, 200);
  });

  test('git hosting and the registry take no cookie: their own credentials only', async () => {
    const cookie = await login(server.token);
    const git = await fetch(`${server.url}/git/by-admin-cookie.git/info/refs?service=git-upload-pack`, { headers: { Cookie: `slipway_session=${cookie}` } });
    await git.body?.cancel();
    assert.equal(git.status, 401);
    const registry = await fetch(`${server.url}/v2/`, { headers: { Cookie: `slipway_session=${cookie}` } });
    await registry.body?.cancel();
    assert.equal(registry.status, 401);
  });

  test('logins are in the audit log under the token’s name; the cookie secret is stored nowhere in the clear', async () => {
    const cookie = await login(server.token);
    const events = await server.store.listAudit({ limit: 100 });
    assert.ok(events.some((e) => e.action === 'session.create' && e.actor === 'admin'));
    const db = new Database(path.join(server.data, 'slipway.db'), { readonly: true });
    try {
      assert.doesNotMatch(JSON.stringify(db.prepare('SELECT * FROM sessions').all()), new RegExp(cookie.replace(/[-]/g, '\\-')));
    } finally {
      db.close();
    }
  });
});
