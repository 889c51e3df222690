// The published contract is the server: /api/openapi.json is a valid OpenAPI 3.1 document (checked
// by a real validator), every route of the contract is in it and every documented route answers,
// and a malformed body to every mutating route is a 422 naming each bad field, changing nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { TSchema } from '@sinclair/typebox';
import { routes, type RouteSpec } from '../../src/api/contract.js';
import { testServer, tempRepo, type TestServer } from './support.js';

let server: TestServer;
const repo = tempRepo({ 'slipway.yaml': 'version: 1\nname: doc\njobs:\n  a:\n    image: busybox:latest\n    steps: [{ run: echo hi }]\n' });
let runId = '';

before(async () => {
  server = await testServer();
  await server.push(repo, 'doc');
  runId = (await server.waitForRun('doc', 1)).id;
});

after(async () => {
  await server.stop();
  repo.remove();
});

type Document = { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown }>> };

test('the OpenAPI document is valid OpenAPI 3.1 by a real validator', async () => {
  const document = (await server.api<Document>('/api/openapi.json', { token: '' })).body;
  const result = await new Validator().validate(document as never);
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2)?.slice(0, 2000));
  assert.equal(document.openapi, '3.1.0');
});

const SAMPLE: Record<string, string> = { name: 'doc', id: 'nope', secret: 'SOME_KEY', app: 'web', env: 'staging', provider: 'github', project: 'doc' };

test('every route of the contract is in the document, and every documented route answers (no route is documented but missing)', async () => {
  const document = (await server.api<Document>('/api/openapi.json', { token: '' })).body;
  for (const [name, route] of Object.entries(routes) as Array<[string, RouteSpec]>) {
    assert.ok(document.paths[route.path]?.[route.method.toLowerCase()], `${name}: ${route.method} ${route.path} is documented`);
  }
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const method of Object.keys(operations).filter((m) => ['get', 'post', 'put', 'delete'].includes(m))) {
      const concrete = path.replace(/\{(\w+)\}/g, (_m, key: string) => SAMPLE[key] ?? 'x');
      // a body that fails validation is answered before anything happens: no route is driven for real
      const res = await fetch(`${server.url}${concrete}`, {
        method: method.toUpperCase(),
        headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
        ...(method === 'get' || method === 'delete' ? {} : { body: JSON.stringify({ __never_a_field__: true }) }),
      });
      const text = await res.text();
      const code = res.headers.get('content-type')?.includes('json') && text ? (JSON.parse(text) as { error?: { code?: string } }).error?.code : undefined;
      assert.notEqual(code, 'NOT_FOUND', `${method.toUpperCase()} ${path} answers (${res.status} ${text.slice(0, 200)})`);
      assert.notEqual(code, 'METHOD_NOT_ALLOWED', `${method.toUpperCase()} ${path}`);
      assert.ok(res.status < 500, `${method.toUpperCase()} ${path}: ${res.status} ${text.slice(0, 200)}`);
    }
  }
});

/** A value of another type than the schema wants. */
function wrongValue(schema: TSchema): unknown {
  const type = (schema as { type?: unknown }).type;
  if (type === 'string') return 12345;
  if (type === 'integer' || type === 'number') return 'not a number';
  if (type === 'boolean') return 'yes';
  if (type === 'array') return 'not a list';
  if (type === 'object') return 7;
  return { not: 'this' };
}

async function snapshot(): Promise<string> {
  const [projects, tokens, runs, secrets] = await Promise.all([
    server.api('/api/projects'),
    server.api('/api/tokens'),
    server.api('/api/runs?limit=500'),
    server.api('/api/projects/doc/secrets'),
  ]);
  return JSON.stringify([projects.body, (tokens.body as { tokens: Array<{ lastUsedAtMs?: number }> }).tokens.map((t) => ({ ...t, lastUsedAtMs: 0 })), runs.body, secrets.body]);
}

test('a malformed body to every mutating route is a 422 naming each bad field, and changes nothing', async () => {
  const before = await snapshot();
  const mutating = (Object.entries(routes) as Array<[string, RouteSpec]>).filter(([, r]) => r.body);
  assert.ok(mutating.length >= 10);
  for (const [name, route] of mutating) {
    const properties = (route.body as { properties?: Record<string, TSchema> }).properties ?? {};
    const body = Object.fromEntries(Object.entries(properties).map(([key, schema]) => [key, wrongValue(schema)]));
    if (!route.bodyCheckedByHandler) body.unknownField = 1;
    const path = route.path.replace(/\{(\w+)\}/g, (_m, key: string) => (key === 'id' ? runId : (SAMPLE[key] ?? 'x')));
    const res = await server.api<{ error: { code: string; fields?: Array<{ field: string }> } }>(path, { method: route.method, body });
    assert.equal(res.status, 422, `${name}: ${JSON.stringify(res.body)}`);
    if (route.invalidCode) assert.equal(res.body.error.code, route.invalidCode, name);
    const named = new Set(res.body.error.fields?.map((f) => f.field));
    const expected = Object.keys(body).filter((key) => !(route.bodyCheckedByHandler && key === 'kubernetes'));
    for (const key of expected) assert.ok(named.has(key), `${name}: ${key} is named among ${[...named].join(', ')}`);
  }
  assert.equal(await snapshot(), before, 'nothing changed in the store');
});
