// The server is not the data plane either: apps it deployed keep serving when `slipway server` is
// SIGKILLed (its deploy agent and the proxies are processes and containers of their own), and a
// restarted server sees them as they were.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnServer, type ServerProcess } from '../support/server-process.js';
import { buildImages, eventually, IMAGES, Load, removeDeployments } from '../deploy-docker/support.js';

const ADMIN = 'server-kill-admin-token-0123456789';
const data = mkdtempSync(path.join(os.tmpdir(), 'slipway-server-kill-'));
let server: ServerProcess | undefined;

async function api<T>(url: string, p: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${url}${p}`, {
    method: init.method ?? 'GET',
    headers: { Authorization: `Bearer ${ADMIN}`, ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

interface StatusBody {
  environments: Array<{ app: string; endpoint?: string; replicas: { ready: number }; current?: { number: number } }>;
}

before(async () => {
  await buildImages();
});
after(async () => {
  await server?.stop();
  await removeDeployments(path.join(data, 'deploy'));
  rmSync(data, { recursive: true, force: true });
});

test('SIGKILL of the server under load fails no request to the apps it deployed; a new server sees them unchanged', { timeout: 180_000 }, async () => {
  server = spawnServer(data, { adminToken: ADMIN, env: { SLIPWAY_HOME: path.join(data, 'home') } });
  const url = await server.url;
  const started = await api<{ id: string }>(url, '/api/apps/web/environments/live/deploy', {
    method: 'POST',
    body: { image: IMAGES.v1, port: 8080, replicas: 2, health: { path: '/healthz', interval: '200ms', healthy: 1, unhealthy: 2 }, strategy: { progressDeadline: '30s' } },
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const serving = await eventually('web serving', async () => {
    const { body } = await api<StatusBody>(url, '/api/status?app=web');
    const web = body.environments.find((e) => e.app === 'web');
    return web?.replicas.ready === 2 && web.endpoint ? web : undefined;
  }, 60_000, 200);
  const port = Number(new URL(serving.endpoint ?? '').port);

  const load = new Load(port, { ratePerSecond: 200 }).start();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const closed = new Promise((resolve) => server?.child.once('close', resolve));
  server.child.kill('SIGKILL');
  await closed;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const result = await load.stop();
  assert.equal(result.failed, 0, result.errors.join('\n'));
  assert.ok(result.ok > 200, `requests made: ${result.ok}`);

  server = spawnServer(data, { adminToken: ADMIN, env: { SLIPWAY_HOME: path.join(data, 'home') } });
  const again = await server.url;
  const { body } = await api<StatusBody>(again, '/api/status?app=web');
  const web = body.environments.find((e) => e.app === 'web');
  assert.equal(web?.current?.number, 1);
  assert.equal(web?.replicas.ready, 2);
  assert.equal(web?.endpoint, serving.endpoint, 'the same port');
});
