// A seeded fuzz of the API's path and body handling: every route of the OpenAPI document, called
// with hostile path parameters, query values, bodies and headers. Whatever it sends, the answer is
// never a 500 and the server log holds no stack trace. SLIPWAY_FUZZ_SEED replays a failure.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { testServer, type TestServer } from './support.js';
import { pick, prng } from '../support/random.js';

const SEED = Number(process.env.SLIPWAY_FUZZ_SEED ?? 0x5eed);
const REQUESTS = 1500;
let server: TestServer;
const logged: string[] = [];

before(async () => {
  server = await testServer({ concurrency: 0, log: (line) => logged.push(line) });
  assert.equal((await server.api('/api/projects', { method: 'POST', body: { name: 'fuzz' } })).status, 201);
});

after(async () => {
  await server.stop();
});

const SEGMENTS = [
  'fuzz', 'nope', '%', '%zz', '%E0%A4%A', '%00', '%2F', '%2e%2e', '..', '.', 'a-', 'A', '-x', '--upload-pack=x',
  'x'.repeat(300), '%F0%9F%92%A9', 'ü', '%C0%AE', '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'staging', 'web', '%20', "'", '"', '<script>',
];
const QUERY_KEYS = ['project', 'status', 'branch', 'limit', 'cursor', 'after', 'days', 'environment', 'app', 'service'];
const QUERY_VALUES = [...SEGMENTS, '-1', '0', '1e309', 'NaN', '500', '501', 'running', 'queued', 'xyz', ''];
const FIELDS = ['name', 'scopes', 'secret', 'value', 'mode', 'branch', 'commit', 'provider', 'token', 'apiUrl', 'url', 'allowAutoCreate', 'to', 'replicas', 'port', '__proto__', 'constructor'];

function value(random: () => number, depth = 0): unknown {
  const kind = Math.floor(random() * (depth > 3 ? 6 : 9));
  switch (kind) {
    case 0: return null;
    case 1: return random() < 0.5;
    case 2: return pick(random, [0, -1, 1.5, 1e308, -0, 2 ** 53 + 1]);
    case 3: return pick(random, SEGMENTS);
    case 4: return pick(random, ['', ' ', '\u0000', '\u202E', 'read', 'admin', 'failed-jobs', 'github', 'http://169.254.169.254/', 'https://github.com/x/y.git', '../../etc/passwd']);
    case 5: return 'y'.repeat(Math.floor(random() * 5000));
    case 6: return Array.from({ length: Math.floor(random() * 4) }, () => value(random, depth + 1));
    default: return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, () => [pick(random, FIELDS), value(random, depth + 1)]));
  }
}

function body(random: () => number, route: string): string | undefined {
  const kind = Math.floor(random() * 6);
  if (kind === 0) return undefined;
  if (kind === 1) return pick(random, ['not json', '{', '[]', '"x"', '1', 'null', '{"a":' + '['.repeat(5000)]);
  if (kind === 2) return '['.repeat(3000) + ']'.repeat(3000);
  const object = value(random, 3);
  // a deploy body that names an image could start a real rollout: the fuzz keeps to bad ones
  if (/\/(deploy|rollback)$/.test(route) && object && typeof object === 'object' && !Array.isArray(object)) delete (object as Record<string, unknown>).image;
  return JSON.stringify(object);
}

test(`a fuzz of ${REQUESTS} requests over every route's paths, queries and bodies finds no 500 (seed ${SEED})`, async () => {
  const random = prng(SEED);
  const document = (await server.api<{ paths: Record<string, Record<string, unknown>> }>('/api/openapi.json')).body;
  const routes = Object.entries(document.paths).flatMap(([template, ops]) => Object.keys(ops).map((method) => ({ method: method.toUpperCase(), template })));
  assert.ok(routes.length > 20, 'the document lists the routes');
  const failures: string[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const { method, template } = pick(random, routes);
    const path = template.replace(/\{[^}]+\}/g, (param) => (param === '{provider}' && random() < 0.7 ? pick(random, ['github', 'gitea', 'gitlab']) : pick(random, SEGMENTS)));
    const query = random() < 0.5 ? '' : '?' + Array.from({ length: 1 + Math.floor(random() * 3) }, () => `${pick(random, QUERY_KEYS)}=${pick(random, QUERY_VALUES)}`).join('&');
    const text = method === 'GET' || method === 'DELETE' ? undefined : body(random, template);
    const headers: Record<string, string> = {};
    if (random() < 0.85) headers.Authorization = random() < 0.9 ? `Bearer ${server.token}` : pick(random, ['Bearer ', 'Basic %%%', 'Basic ' + Buffer.from('x').toString('base64'), 'Bearer x'.repeat(100)]);
    if (text !== undefined) headers['Content-Type'] = pick(random, ['application/json', 'text/plain', 'application/x-www-form-urlencoded']);
    if (template.startsWith('/hooks')) Object.assign(headers, { 'X-GitHub-Event': 'push', 'X-GitHub-Delivery': `f-${i}`, 'X-Hub-Signature-256': 'sha256=' + '0'.repeat(64), 'X-Gitlab-Token': 'x' });
    const res = await fetch(`${server.url}${path}${query}`, { method, headers, ...(text !== undefined ? { body: text } : {}), signal: AbortSignal.timeout(10_000) });
    await res.body?.cancel();
    if (res.status >= 500) failures.push(`${method} ${path}${query} ${text?.slice(0, 200) ?? ''} → ${res.status}`);
  }
  assert.deepEqual(failures, []);
  assert.deepEqual(logged.filter((line) => /\n\s+at /.test(line)).map((line) => line.slice(0, 500)), []);
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
});
