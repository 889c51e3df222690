// The double's own API contract, where a real cluster's behaviour is the specification:
// resourceVersion and generation bookkeeping, watch resume and 410 Gone, Status error bodies,
// the status subresource, RBAC 403 bodies, and the standalone `npm run k8s-double` entry point.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { startDouble, type KubernetesDouble } from './index.js';
import { kubectl } from '../k8s/support.js';

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

describe('the Kubernetes API server double', () => {
  let double: KubernetesDouble;
  before(async () => {
    double = await startDouble({ watchHistory: 50 });
  });
  after(async () => {
    await double.close();
  });

  function call(method: string, urlPath: string, body?: unknown, contentType = 'application/json', token = double.adminToken): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request(`${double.url}${urlPath}`, { method, ca: double.caCert, headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /** Opens a watch and collects event lines until `count` arrived. */
  function watchEvents(urlPath: string, count: number): Promise<{ status: number; events: { type: string; object: { metadata: { name: string; resourceVersion: string } } }[] }> {
    return new Promise((resolve, reject) => {
      const events: { type: string; object: { metadata: { name: string; resourceVersion: string } } }[] = [];
      const req = request(`${double.url}${urlPath}`, { ca: double.caCert, headers: { Authorization: `Bearer ${double.adminToken}` } }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          resolve({ status: res.statusCode ?? 0, events });
          return;
        }
        let buffer = '';
        res.on('data', (c: Buffer) => {
          buffer += c.toString();
          let nl: number;
          while ((nl = buffer.indexOf('\n')) !== -1) {
            events.push(JSON.parse(buffer.slice(0, nl)) as (typeof events)[number]);
            buffer = buffer.slice(nl + 1);
            if (events.length >= count) {
              req.destroy();
              resolve({ status: 200, events });
            }
          }
        });
      });
      req.on('error', (err) => (events.length >= count ? undefined : reject(err)));
      req.end();
    });
  }

  const configMap = (name: string, data: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });

  test('every write bumps the global resourceVersion; generation moves only when the spec changes', async () => {
    const ns = 'default';
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'gen' },
      spec: { replicas: 0, selector: { matchLabels: { app: 'gen' } }, template: { metadata: { labels: { app: 'gen' } }, spec: { containers: [{ name: 'a', image: 'nginx:1' }] } } },
    };
    const created = await call('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, deployment);
    assert.equal(created.status, 201);
    const meta = created.body.metadata as { generation: number; resourceVersion: string; uid: string; creationTimestamp: string };
    assert.equal(meta.generation, 1);
    assert.match(meta.uid, /^[0-9a-f-]{36}$/);
    assert.match(meta.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const labelled = await call('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/gen`, { metadata: { labels: { x: 'y' } } }, 'application/merge-patch+json');
    const lmeta = labelled.body.metadata as { generation: number; resourceVersion: string };
    assert.equal(lmeta.generation, 1, 'a label is not a spec change');
    assert.ok(Number(lmeta.resourceVersion) > Number(meta.resourceVersion));
    const scaled = await call('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/gen`, { spec: { replicas: 0, paused: true } }, 'application/strategic-merge-patch+json');
    assert.equal((scaled.body.metadata as { generation: number }).generation, 2);
    const stale = await call('PUT', `/apis/apps/v1/namespaces/${ns}/deployments/gen`, { ...deployment, metadata: { name: 'gen', resourceVersion: meta.resourceVersion } });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.reason, 'Conflict');
    assert.match(String(stale.body.message), /the object has been modified/);
    // a status write leaves spec and generation alone
    const status = await call('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/gen/status`, { status: { observedGeneration: 7 }, spec: { replicas: 5 } }, 'application/merge-patch+json');
    assert.equal((status.body.spec as { replicas: number }).replicas, 0);
    assert.equal((status.body.metadata as { generation: number }).generation, 2);
  });

  test('errors are real Status bodies: 404 NotFound, 409 AlreadyExists, 422 Invalid, 401, 403 Forbidden', async () => {
    const missing = await call('GET', '/api/v1/namespaces/default/configmaps/nope');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'configmaps "nope" not found', reason: 'NotFound', details: { name: 'nope', group: '', kind: 'configmaps' }, code: 404 });
    assert.equal((await call('POST', '/api/v1/namespaces/default/configmaps', configMap('twice'))).status, 201);
    const again = await call('POST', '/api/v1/namespaces/default/configmaps', configMap('twice'));
    assert.equal(again.status, 409);
    assert.equal(again.body.reason, 'AlreadyExists');
    const invalid = await call('POST', '/api/v1/namespaces/default/configmaps', configMap('Not_A_Name'));
    assert.equal(invalid.status, 422);
    assert.equal(invalid.body.reason, 'Invalid');
    assert.equal(((invalid.body.details as { causes: { field: string }[] }).causes[0])?.field, 'metadata.name');
    const noNamespace = await call('POST', '/api/v1/namespaces/ghost/configmaps', configMap('x'));
    assert.equal(noNamespace.status, 404);
    assert.equal(noNamespace.body.message, 'namespaces "ghost" not found');
    assert.equal((await call('GET', '/api/v1/namespaces', undefined, 'application/json', 'wrong')).status, 401);
    double.addToken('nobody-token', { user: 'nobody', groups: ['system:authenticated'] });
    const forbidden = await call('DELETE', '/api/v1/namespaces/default/configmaps/twice', undefined, 'application/json', 'nobody-token');
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.message, 'configmaps "twice" is forbidden: User "nobody" cannot delete resource "configmaps" in API group "" in the namespace "default"');
  });

  test('a watch resumes after a resourceVersion with only later changes; one older than the history gets 410 Gone', async () => {
    const first = await call('POST', '/api/v1/namespaces/default/configmaps', configMap('w1'));
    const from = (first.body.metadata as { resourceVersion: string }).resourceVersion;
    await call('POST', '/api/v1/namespaces/default/configmaps', configMap('w2'));
    await call('PATCH', '/api/v1/namespaces/default/configmaps/w1', { data: { a: 'b' } }, 'application/merge-patch+json');
    await call('DELETE', '/api/v1/namespaces/default/configmaps/w2');
    const resumed = await watchEvents(`/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${from}`, 3);
    assert.deepEqual(resumed.events.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED w2', 'MODIFIED w1', 'DELETED w2']);
    const rvs = resumed.events.map((e) => Number(e.object.metadata.resourceVersion));
    assert.deepEqual([...rvs].sort((a, b) => a - b), rvs, 'in resourceVersion order');
    // fill the (50-change) history so `from` falls out of it
    for (let i = 0; i < 60; i++) await call('PATCH', '/api/v1/namespaces/default/configmaps/w1', { data: { i: String(i) } }, 'application/merge-patch+json');
    const gone = await call('GET', `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${from}`);
    assert.equal(gone.status, 410);
    assert.equal(gone.body.reason, 'Expired');
    assert.match(String(gone.body.message), /too old resource version/);
    // label-selected watch without a resourceVersion starts with the current state
    await call('POST', '/api/v1/namespaces/default/configmaps', { ...configMap('sel'), metadata: { name: 'sel', labels: { pick: 'me' } } });
    const current = await watchEvents('/api/v1/namespaces/default/configmaps?watch=true&labelSelector=pick%3Dme', 1);
    assert.deepEqual(current.events.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED sel']);
  });

  test('npm run k8s-double serves on the given port and writes a kubeconfig kubectl can use', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'k8s-double-main-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    const main = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.js');
    const child = spawn(process.execPath, [main, '--port', '0', '--kubeconfig', kubeconfig], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) resolve(out);
        });
        child.once('exit', (code) => reject(new Error(`k8s-double exited with ${code}`)));
      });
      assert.match(line, /^k8s-double listening on https:\/\/127\.0\.0\.1:\d+ kubeconfig=/);
      const r = await kubectl(kubeconfig, ['get', 'namespaces', '-o', 'name']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /namespace\/default/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
