// Drift in the browser, on the real cluster: after `kubectl scale`, the environment's card says it
// drifted, names the field, and its Sync button (after a confirmation naming what it puts back)
// brings the cluster back to the revision and the card back to clean.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api } from '@kubernetes/client-node';
import type { Browser } from 'playwright-core';
import { testServer, type TestServer } from '../server/support.js';
import { launch, screenshot, signedIn } from '../ui/browser.js';
import { eventually } from '../support/wait.js';
import { images, kubectl, onRealCluster, openCluster, type TestCluster } from './support.js';

describe('drift on the environments page', { skip: onRealCluster ? false : 'needs a real cluster (KUBECONFIG) and its kubectl scale' }, () => {
  let cluster: TestCluster;
  let server: TestServer;
  let browser: Browser;
  const kubeconfigBefore = process.env.KUBECONFIG;

  before(async () => {
    cluster = await openCluster();
    // the server's kubernetes target reads the cluster of KUBECONFIG, as `slipway server` does
    process.env.KUBECONFIG = cluster.kubeconfigPath;
    [server, browser] = await Promise.all([testServer({ config: { schedules: false } }), launch()]);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    if (kubeconfigBefore === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = kubeconfigBefore;
    await cluster?.close();
  });

  test('kubectl scale shows as a drifted card naming spec.replicas; Sync, once confirmed, puts it back and the card is clean', { timeout: 180_000 }, async () => {
    const namespace = await cluster.createNamespace('drift-ui');
    const started = await server.api<{ id: string }>('/api/apps/web/environments/production/deploy', {
      method: 'POST',
      body: { image: images.healthy, target: 'kubernetes', replicas: 1, port: 80, health: { path: '/', interval: '1s', healthy: 1 }, kubernetes: { namespace } },
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const done = await server.rolloutEnded<{ status: string }>(started.body.id, 120_000);
    assert.equal(done.status, 'healthy', JSON.stringify(done));
    const scaled = await kubectl(cluster.kubeconfigPath, ['-n', namespace, 'scale', 'deployment/web-production', '--replicas=2']);
    assert.equal(scaled.code, 0, scaled.stderr);

    const { context, page } = await signedIn(browser, server.url, server.token);
    try {
      await page.goto('/environments');
      const card = page.getByRole('article', { name: 'web in production' });
      await card.locator('.badge', { hasText: 'drifted' }).waitFor({ timeout: 30_000 });
      const drift = card.getByRole('region', { name: 'drift of web in production' });
      assert.match(await drift.innerText(), /Drifted from revision 1[\s\S]*spec\.replicas: 2 \(revision says 1\)/);
      await screenshot(page, 'environments-drifted');
      let question = '';
      page.once('dialog', (dialog) => {
        question = dialog.message();
        void dialog.accept();
      });
      await card.getByRole('button', { name: 'Sync' }).click();
      await card.locator('.badge', { hasText: 'drifted' }).waitFor({ state: 'detached', timeout: 120_000 });
      assert.match(question, /Apply revision 1[\s\S]*again, as recorded, putting back:[\s\S]*spec\.replicas/);
      const deployment = await cluster.kubeConfig().makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'web-production', namespace });
      assert.equal(deployment.spec?.replicas, 1, 'the cluster runs the revision\'s count again');
      await eventually('the status to be clean', async () => {
        const { body } = await server.api<{ environments: Array<{ drift?: { fields: unknown[] } }> }>('/api/status?app=web&environment=production');
        return body.environments[0]?.drift?.fields.length === 0;
      }, 30_000);
    } finally {
      await context.close();
    }
  });
});
