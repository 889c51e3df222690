// Environments in the browser: rolling an environment back with the button (after a confirmation
// that names what changes) moves it to the previous revision, the page shows it, and the app serves
// the old version again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { testServer, type TestServer } from '../server/support.js';
import { buildImages, IMAGES } from '../deploy-docker/support.js';
import { eventually } from '../support/wait.js';
import { launch, signedIn } from './browser.js';

const FAST = { health: { path: '/healthz', interval: '200ms', healthy: 1, unhealthy: 2 }, strategy: { maxSurge: 1, maxUnavailable: 0, progressDeadline: '20s' } };
type Rollout = { id: string; status: string; endpoint?: string };

let server: TestServer;
let browser: Browser;

before(async () => {
  [server, browser] = await Promise.all([testServer(), launch(), buildImages()]).then(([s, b]) => [s, b] as const);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the Roll back button, once confirmed, brings the previous revision back and the app serves the old version', async () => {
  const deploy = async (image: string): Promise<Rollout> => {
    const started = await server.api<Rollout>('/api/apps/web/environments/ui/deploy', { method: 'POST', body: { ...FAST, image, replicas: 1, port: 8080 } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const done = await server.rolloutEnded<Rollout>(started.body.id);
    assert.equal(done.status, 'healthy');
    return done;
  };
  await deploy(IMAGES.v1);
  await deploy(IMAGES.v2);
  const [status] = (await server.api<{ environments: Array<{ endpoint?: string }> }>('/api/status?app=web&environment=ui')).body.environments;
  const endpoint = status?.endpoint ?? '';
  assert.equal(await (await fetch(`${endpoint}/`)).text(), 'hello from hello-web v2\n');

  const { context, page } = await signedIn(browser, server.url, server.token);
  try {
    await page.goto('/environments');
    const card = page.getByRole('article', { name: 'web in ui' });
    await card.getByText('#2 · deploy by admin').waitFor();
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.accept();
    });
    await card.getByRole('button', { name: /^Roll back/ }).click();
    await card.getByRole('status').getByText(/rollback started/).waitFor();
    assert.match(asked[0] ?? '', /Roll web\/ui back from revision 2 \(.*:v2\) to the previous healthy revision\?/);
    // revision 3 restores revision 1: the page shows it, and the app answers as v1 again
    await card.getByText('#3 · rollback by admin').waitFor({ timeout: 30_000 });
    await eventually('v1 served again', async () => (await (await fetch(`${endpoint}/`)).text()) === 'hello from hello-web v1\n', 30_000);
    await card.getByRole('button', { name: 'History' }).click();
    await card.getByText(/restores #1/).waitFor();
  } finally {
    await context.close();
  }
});
