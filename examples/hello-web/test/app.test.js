// The routes of hello-web, against the real HTTP server on a port the OS picks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { configFromEnv, startApp } from '../app.js';

let server;
let base;

before(async () => {
  const started = await startApp({ version: '1.2.3', greeting: 'hi', failHealthz: false, port: 0, host: '127.0.0.1' });
  server = started.server;
  base = `http://127.0.0.1:${started.port}`;
});
after(() => server.drain(1000));

test('GET / greets with the greeting and the version', async () => {
  const res = await fetch(`${base}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain/);
  assert.equal(await res.text(), 'hi from hello-web 1.2.3\n');
});

test('GET /healthz answers 200 ok', async () => {
  const res = await fetch(`${base}/healthz`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'ok\n');
});

test('GET /version reports name, version and the replica it came from', async () => {
  const res = await fetch(`${base}/version`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  const body = await res.json();
  assert.equal(body.name, 'hello-web');
  assert.equal(body.version, '1.2.3');
  assert.equal(body.greeting, 'hi');
  assert.equal(typeof body.hostname, 'string');
  assert.equal(body.pid, process.pid);
});

test('HEAD / answers without a body', async () => {
  const res = await fetch(`${base}/`, { method: 'HEAD' });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), '');
});

test('an unknown path is 404 and another method is 405', async () => {
  assert.equal((await fetch(`${base}/nope`)).status, 404);
  const res = await fetch(`${base}/`, { method: 'POST', body: 'x' });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'GET, HEAD');
});

test('GET /slow waits the asked time, capped', async () => {
  const started = Date.now();
  const res = await fetch(`${base}/slow?ms=50`);
  assert.equal(await res.text(), 'slow 50\n');
  assert.ok(Date.now() - started >= 45);
});

test('FAIL_HEALTHZ makes /healthz answer 503 while / still works', async () => {
  const bad = await startApp({ ...configFromEnv({ FAIL_HEALTHZ: '1' }), port: 0, host: '127.0.0.1' });
  try {
    assert.equal((await fetch(`http://127.0.0.1:${bad.port}/healthz`)).status, 503);
    assert.equal((await fetch(`http://127.0.0.1:${bad.port}/`)).status, 200);
  } finally {
    await bad.server.drain(1000);
  }
});

test('configFromEnv defaults to version dev and greeting hello', () => {
  assert.deepEqual(configFromEnv({}), { version: 'dev', greeting: 'hello', failHealthz: false });
  assert.deepEqual(configFromEnv({ VERSION: 'abc', GREETING: 'hey', FAIL_HEALTHZ: 'no' }), {
    version: 'abc',
    greeting: 'hey',
    failHealthz: false,
  });
});
