// The engine runs a pipeline through the Kubernetes executor as it does through Docker: the source
// unpacked, artifacts handed to the next job (the engine relies on the archive's root being the
// path's last segment), the cache saved and restored, a service healthy first, secrets masked.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { executeRun, RunStorage, snapshotWorkspace, type RunEvent } from '../../src/engine/index.js';
import { KubernetesExecutor } from '../../src/executors/kubernetes/index.js';
import { loadPipeline } from '../../src/spec/index.js';
import { onRealCluster, openCluster, type TestCluster } from '../k8s/support.js';
import { tempRepo, type TempRepo } from '../support/repo.js';

const PIPELINE = `version: 1
name: on-k8s
env: { GREETING: hello }
secrets: [API_TOKEN]
jobs:
  prepare:
    image: busybox:1.36
    steps:
      - run: mkdir -p dist/sub && echo "built from $(cat input.txt)" > dist/out.txt && echo deep > dist/sub/deep.txt
      - run: test -f .cache/c.txt && echo "cache had $(cat .cache/c.txt)" || { mkdir -p .cache && echo v1 > .cache/c.txt; }
    artifacts: [dist/]
    cache: { key: [input.txt], paths: [.cache] }
  test:
    needs: [prepare]
    image: busybox:1.36
    services:
      web:
        image: nginx:1.27-alpine
        health: { cmd: "wget -q -O /dev/null http://localhost:80/", interval: 300ms, timeout: 3s, retries: 40 }
    steps:
      - run: cat dist/out.txt dist/sub/deep.txt
      - run: echo "token is $API_TOKEN, greeting $GREETING"
      - run: wget -q -O - http://web/ >/dev/null && echo "web answered"
`;

describe('the engine on the kubernetes executor', { skip: !onRealCluster && 'needs a real cluster: set KUBECONFIG' }, () => {
  let cluster: TestCluster;
  let executor: KubernetesExecutor;
  let namespace: string;
  let repo: TempRepo;

  before(async () => {
    cluster = await openCluster();
    namespace = `slipway-kxe-${randomBytes(3).toString('hex')}`;
    executor = new KubernetesExecutor({ kubeConfig: cluster.kubeConfig(), namespace });
    repo = tempRepo({ 'slipway.yaml': PIPELINE, 'input.txt': 'the input\n' });
  });
  after(async () => {
    repo?.remove();
    await cluster?.kubeConfig().makeApiClient(CoreV1Api).deleteNamespace({ name: namespace }).catch(() => undefined);
    await cluster?.close();
  });

  async function run(only?: string[]): Promise<{ status: string; lines: string[] }> {
    const pipeline = (await loadPipeline(path.join(repo.dir, 'slipway.yaml'))).pipeline;
    assert.ok(pipeline);
    const runId = `run-${randomBytes(4).toString('hex')}`;
    const storage = new RunStorage(repo.home, runId);
    await storage.prepare();
    const source = await snapshotWorkspace(repo.dir, storage.sourceTarPath);
    const lines: string[] = [];
    const onEvent = (e: RunEvent): void => {
      if (e.type === 'log') lines.push(`[${e.job}] ${e.line}`);
    };
    const result = await executeRun({
      runId,
      pipeline,
      trigger: { event: 'local', branch: source.branch, commit: source.commit },
      source,
      executor,
      storage,
      secrets: { API_TOKEN: 's3cr3t-t0ken' },
      envOverrides: {},
      concurrency: 2,
      signal: new AbortController().signal,
      onEvent,
      ...(only ? { only } : {}),
    });
    return { status: result.status, lines };
  }

  test('a pipeline passes: source, artifacts to the next job, a healthy service, secrets masked; the cache comes back next run', async () => {
    const first = await run();
    const text = first.lines.join('\n');
    assert.equal(first.status, 'success', text);
    assert.match(text, /\[test\] built from the input\n\[test\] deep/);
    assert.match(text, /\[test\] token is \*\*\*, greeting hello/);
    assert.doesNotMatch(text, /s3cr3t-t0ken/);
    assert.match(text, /\[test\] service web is healthy/);
    assert.match(text, /\[test\] web answered/);
    assert.match(text, /\[prepare\] cache saved/);

    const second = await run(['prepare']);
    assert.equal(second.status, 'success', second.lines.join('\n'));
    assert.match(second.lines.join('\n'), /\[prepare\] cache hit[^]*\[prepare\] cache had v1/);
  });
});
