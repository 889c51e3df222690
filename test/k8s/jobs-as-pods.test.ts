// Jobs as Pods, end to end on the real cluster: `slipway server --executor kubernetes` runs a pushed
// pipeline's jobs as Pods — a DAG, a service on localhost, cache and artifacts through the server, a
// secret masked in the log, a failing step's exit code, a timeout — with the workspace checked out by
// the Pod's init container from the server's git hosting; a cancel deletes the Pod; a server killed
// mid-job is followed by one that marks the run interrupted and reaps the Pod.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { spawnServer, type ServerProcess } from '../support/server-process.js';
import { eventually } from '../support/wait.js';
import { tempRepo } from '../support/repo.js';
import { onRealCluster, openCluster, type TestCluster } from './support.js';

const exec = promisify(execFile);
const TOKEN = 'pods-admin-token-0123456789abcdef';
const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
/** the host's end of the pod bridge: Pods reach the server here (see ../shared/k8s README) */
const POD_BRIDGE_HOST = '10.244.0.1';

interface RunDetail {
  id: string;
  status: string;
  reason?: string;
  jobs: Array<{ name: string; status: string; reason?: string; steps: Array<{ name: string; status: string; exitCode?: number }> }>;
}

const PIPELINE = `version: 1
name: NAME
secrets: [API_TOKEN]
jobs:
  prepare:
    image: busybox:1.36
    resources: { cpu: 250m, memory: 64Mi }
    cache: { key: key.txt, paths: [.cache] }
    artifacts: [out/]
    steps:
      - name: build
        run: mkdir -p out .cache && cat key.txt > out/result.txt && echo warm > .cache/c && echo "built from $(cat key.txt)"
      - name: use the secret
        run: echo "token is $API_TOKEN"
  with-service:
    needs: [prepare]
    image: busybox:1.36
    services:
      web:
        image: nginx:1.27-alpine
        health: { cmd: "wget -q -O /dev/null http://localhost:80/", interval: 200ms }
    steps:
      - name: artifact and service
        run: echo "artifact says $(cat out/result.txt)" && wget -q -O - http://localhost:80/ | head -c 200
  fails:
    needs: [prepare]
    image: busybox:1.36
    steps:
      - name: exit seven
        run: echo about to fail; exit 7
  slow:
    image: busybox:1.36
    timeout: 4s
    steps:
      - name: sleeps
        run: sleep 120
`;

describe('jobs as Pods (slipway server --executor kubernetes)', { skip: onRealCluster ? false : 'needs a real cluster (KUBECONFIG): the API double runs no containers' }, () => {
  let cluster: TestCluster;
  let namespace: string;
  let data: string;
  let server: ServerProcess;
  let url: string;
  let core: CoreV1Api;

  const start = (): ServerProcess =>
    spawnServer(data, {
      host: POD_BRIDGE_HOST,
      port: Number(new URL(url).port),
      adminToken: TOKEN,
      args: ['--executor', 'kubernetes', '--jobs-namespace', namespace, '--clone-url', url],
      env: { KUBECONFIG: cluster.kubeconfigPath },
    });
  const api = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${route}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  };
  const podsOf = async (runId: string) => (await core.listNamespacedPod({ namespace, labelSelector: `slipway.dev/run=${runId}` })).items.filter((p) => !p.metadata?.deletionTimestamp);
  const push = async (project: string, files: Record<string, string>, known = new Set<string>()) => {
    const repo = tempRepo(files);
    try {
      await exec('git', ['push', '-q', '--force', `${url.replace('http://', `http://t:${TOKEN}@`)}/git/${project}.git`, 'main'], { cwd: repo.dir });
    } finally {
      repo.remove();
    }
    return eventually(`a run of ${project}`, async () => (await api<{ runs: Array<{ id: string }> }>('GET', `/api/runs?project=${project}`)).runs.find((r) => !known.has(r.id)), 30_000);
  };
  const finished = (runId: string, timeoutMs = 150_000) =>
    eventually(`run ${runId} to finish`, async () => {
      const run = await api<RunDetail>('GET', `/api/runs/${runId}`);
      return ['running', 'queued'].includes(run.status) ? undefined : run;
    }, timeoutMs, 250);
  const logOf = async (runId: string) => (await api<{ lines: Array<{ job: string; line: string }> }>('GET', `/api/runs/${runId}/logs`)).lines;

  before(async () => {
    cluster = await openCluster();
    namespace = await cluster.createNamespace('jobs');
    core = cluster.kubeConfig().makeApiClient(CoreV1Api);
    data = mkdtempSync(path.join(os.tmpdir(), 'slipway-pods-'));
    // the first start picks a port; the clone URL needs it, so start once to learn it, then again
    url = 'http://x:0';
    server = spawnServer(data, { host: POD_BRIDGE_HOST, adminToken: TOKEN, env: { KUBECONFIG: cluster.kubeconfigPath } });
    url = await server.url;
    await server.stop();
    server = spawnServer(data, {
      host: POD_BRIDGE_HOST,
      port: Number(new URL(url).port),
      adminToken: TOKEN,
      args: ['--executor', 'kubernetes', '--jobs-namespace', namespace, '--clone-url', url],
      env: { KUBECONFIG: cluster.kubeconfigPath },
    });
    url = await server.url;
    await api('POST', '/api/projects', { name: 'pods' });
    await api('PUT', '/api/projects/pods/secrets/API_TOKEN', { value: 'hunter2-very-secret' });
  });

  after(async () => {
    await server?.stop();
    await cluster?.close();
    if (data) rmSync(data, { recursive: true, force: true });
  });

  test('a DAG runs as Pods: checkout by init container, service on localhost, cache, artifacts, masked secret, exit code, timeout', { timeout: 240_000 }, async () => {
    const { id } = await push('pods', { 'slipway.yaml': PIPELINE.replace('NAME', 'pods'), 'key.txt': 'v1' });
    const run = await finished(id);
    const job = (name: string) => run.jobs.find((j) => j.name === name);
    const lines = await logOf(id);
    const text = (name: string) => lines.filter((l) => l.job === name).map((l) => l.line).join('\n');
    assert.equal(run.status, 'failure', JSON.stringify(run.jobs));
    assert.equal(job('prepare')?.status, 'success', text('prepare'));
    assert.match(text('prepare'), /built from v1/, 'the step saw the workspace the init container checked out');
    assert.match(text('prepare'), /token is \*\*\*/);
    assert.doesNotMatch(lines.map((l) => l.line).join('\n'), /hunter2/);
    assert.match(text('prepare'), /cache miss/);
    assert.equal(job('with-service')?.status, 'success', text('with-service'));
    assert.match(text('with-service'), /artifact says v1/, 'the artifact came through the server');
    assert.match(text('with-service'), /<html|<h1|nginx|It works/i, 'the service answered on localhost');
    assert.equal(job('fails')?.status, 'failure');
    assert.match(job('fails')?.reason ?? '', /exited with code 7/);
    assert.equal(job('fails')?.steps[0]?.exitCode, 7);
    assert.match(text('fails'), /about to fail/);
    assert.equal(job('slow')?.status, 'failure');
    assert.match(job('slow')?.reason ?? '', /timed out after 4(\.0)?s/);
    await eventually('the run\'s Pods to be gone', async () => (await podsOf(id)).length === 0, 30_000);

    // a later push with the same cache key: the cache is restored into the Pod
    const next = await push('pods', { 'slipway.yaml': PIPELINE.replace('NAME', 'pods'), 'key.txt': 'v1', 'other.txt': 'a change' }, new Set([id]));
    await finished(next.id);
    assert.match((await logOf(next.id)).filter((l) => l.job === 'prepare').map((l) => l.line).join('\n'), /cache hit/);
  });

  test('cancelling a run deletes its Pod at once', { timeout: 120_000 }, async () => {
    const { id } = await push('pods-cancel', { 'slipway.yaml': 'version: 1\nname: pods-cancel\njobs:\n  nap:\n    image: busybox:1.36\n    steps:\n      - name: long nap\n        run: echo napping; sleep 300\n' });
    await eventually('the step to be running', async () => (await logOf(id)).some((l) => l.line === 'napping'), 90_000, 250);
    assert.equal((await podsOf(id)).length, 1, 'the job runs as one Pod');
    await api('POST', `/api/runs/${id}/cancel`, {});
    const run = await finished(id, 30_000);
    assert.equal(run.status, 'cancelled');
    await eventually('the Pod to be deleted', async () => (await podsOf(id)).length === 0, 15_000);
  });

  test('a server SIGKILLed mid-job: the next one marks the run interrupted and reaps its Pod', { timeout: 150_000 }, async () => {
    const { id } = await push('pods-kill', { 'slipway.yaml': 'version: 1\nname: pods-kill\njobs:\n  nap:\n    image: busybox:1.36\n    steps:\n      - name: long nap\n        run: echo napping; sleep 300\n' });
    await eventually('the step to be running', async () => (await logOf(id)).some((l) => l.line === 'napping'), 90_000, 250);
    assert.equal((await podsOf(id)).length, 1);
    const closed = new Promise((resolve) => server.child.once('close', resolve));
    server.child.kill('SIGKILL');
    await closed;
    assert.equal((await podsOf(id)).length, 1, 'the Pod outlives the killed server');
    server = start();
    url = await server.url;
    const run = await finished(id, 60_000);
    assert.equal(run.status, 'interrupted');
    await eventually('the orphaned Pod to be reaped', async () => (await podsOf(id)).length === 0, 30_000);
  });
});
