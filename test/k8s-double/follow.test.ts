// What only the double can show quickly: a rollout followed across watches the API server ends,
// resumed from a resourceVersion it no longer holds (410 Gone). A real API server keeps minutes of
// history; the double keeps none (every resume after a change is 410), ends each watch after 150 ms
// and moves its controllers every 200 ms, so the rollout outlives several watches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { startDouble } from './index.js';
import { createKubernetesTarget } from '../../src/deploy/kubernetes/index.js';
import { deployRequest, deploySpec } from '../k8s/deploy-support.js';
import { images } from '../k8s/support.js';

test('a rollout is followed to its end across ended watches and 410 Gone, by listing again', { timeout: 60_000 }, async () => {
  const double = await startDouble({ watchHistory: 0, watchLifetimeMs: 150, tickMs: 200 });
  const dir = await mkdtemp(path.join(tmpdir(), 'slipway-follow-'));
  try {
    let gone = 0;
    const subscribe = double.cluster.store.subscribe.bind(double.cluster.store);
    double.cluster.store.subscribe = (from, listener) => {
      try {
        return subscribe(from, listener);
      } catch (err) {
        if ((err as { status?: { code?: number } }).status?.code === 410) gone++;
        throw err;
      }
    };
    const kubeconfig = path.join(dir, 'kubeconfig');
    await double.writeKubeconfig(kubeconfig);
    const kc = new (await import('@kubernetes/client-node')).KubeConfig();
    kc.loadFromFile(kubeconfig);
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'follow' } } });
    const target = createKubernetesTarget({ dataDir: dir, kubeconfig });
    const lines: string[] = [];
    const outcome = await target.deploy(deployRequest('web', deploySpec('follow', { replicas: 3 }), images.healthy, lines));
    assert.equal(outcome.outcome, 'healthy', `${outcome.reason ?? ''}\n${lines.join('\n')}`);
    assert.ok(gone > 0, 'the follow resumed from a resourceVersion the double no longer held at least once');
  } finally {
    await double.close();
    await rm(dir, { recursive: true, force: true });
  }
});
