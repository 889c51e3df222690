// Environments in the browser: a protected production deploy approved from its run page and then
// serving; rolling an environment back with the button (after a confirmation
// that names what changes) moves it to the previous revision, the page shows it, and the app serves
// the old version again; each replica's state; a rollout started through the API followed live on
// its card; rolling back to a chosen revision; two revisions compared; screenshots and axe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { tempRepo, testServer, type TestServer } from '../server/support.js';
import { buildImages, IMAGES } from '../deploy-docker/support.js';
import { eventually } from '../support/wait.js';
import { auditPages, launch, screenshot, signedIn } from './browser.js';

const FAST = { health: { path: '/healthz', interval: '200ms', healthy: 1, unhealthy: 2 }, strategy: { maxSurge: 1, maxUnavailable: 0, progressDeadline: '20s' } };
type Rollout = { id: string; status: string; endpoint?: string; lines: Array<{ seq: number; line: string }> };

let server: TestServer;
let browser: Browser;

before(async () => {
  [server, browser] = await Promise.all([testServer(), launch(), buildImages()]).then(([s, b]) => [s, b] as const);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a deploy to a protected production waits; approved from its run page, production deploys and the Environments page shows it serving', async () => {
  const repo = tempRepo({
    'slipway.yaml': `version: 1
name: shipped
environments:
  production: { protected: true }
jobs:
  production:
    deploy:
      environment: production
      image: ${IMAGES.v1}
      port: 8080
      health: { path: /healthz, interval: 200ms, healthy: 1 }
`,
  });
  const { context, page } = await signedIn(browser, server.url, server.token);
  try {
    await server.push(repo, 'shipped');
    const run = await eventually('the run to wait', async () => {
      const { body } = await server.api<{ runs: Array<{ id: string; status: string }> }>('/api/runs?project=shipped');
      return body.runs[0]?.status === 'waiting' && body.runs[0];
    }, 60_000, 100);
    await page.goto(`/runs/${run.id}`);
    await page.getByRole('button', { name: 'Approve production' }).click();
    await page.locator('h1 .badge', { hasText: 'success' }).waitFor({ timeout: 60_000 });
    await page.goto('/environments');
    const card = page.getByRole('article', { name: 'shipped in production' });
    await card.getByText('1/1 ready').waitFor({ timeout: 30_000 });
    const [status] = (await server.api<{ environments: Array<{ endpoint?: string }> }>('/api/status?app=shipped&environment=production')).body.environments;
    assert.equal(await (await fetch(`${status?.endpoint ?? ''}/`)).text(), 'hello from hello-web v1\n');
  } finally {
    await context.close();
    repo.remove();
  }
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

const endpointOf = async (): Promise<string> => (await server.api<{ environments: Array<{ endpoint?: string }> }>('/api/status?app=web&environment=ui')).body.environments[0]?.endpoint ?? '';

test('a rollout started through the API is followed live on its card — its progress lines as they come, each replica with its revision and state — and the card then shows the new revision', async () => {
  const { context, page } = await signedIn(browser, server.url, server.token);
  try {
    await page.goto('/environments');
    const card = page.getByRole('article', { name: 'web in ui' });
    await card.getByText('#3 · rollback by admin').waitFor();
    const replicas = card.getByRole('table', { name: 'Replicas of web in ui' });
    await replicas.getByRole('row', { name: /^slipway-web-ui-3-\w+ #3 healthy$/ }).waitFor();

    // a slow rollout, so that the page sees it under way: each new replica passes 6 checks half a second apart
    const slow = { health: { path: '/healthz', interval: '500ms', healthy: 6, unhealthy: 2 }, strategy: { maxSurge: 1, maxUnavailable: 0, progressDeadline: '30s' } };
    const started = await server.api<Rollout>('/api/apps/web/environments/ui/deploy', { method: 'POST', body: { ...slow, image: IMAGES.v2, replicas: 2, port: 8080 } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const panel = card.getByRole('region', { name: `rollout ${started.body.id}` });
    await panel.getByText('in-progress', { exact: true }).waitFor({ timeout: 10_000 });
    const log = panel.getByRole('log', { name: 'progress' });
    await log.getByText(/rolling out revision 4: 2 × /).waitFor();
    // under way, the new revision's replicas are listed beside the old one's, each with its state
    await replicas.getByRole('row', { name: /^slipway-web-ui-4-\w+ #4 (starting|healthy)$/ }).first().waitFor();
    await replicas.getByRole('row', { name: /^slipway-web-ui-3-\w+ #3 / }).first().waitFor();
    await screenshot(page, 'environments-rollout-desktop');

    await panel.getByText('healthy', { exact: true }).waitFor({ timeout: 60_000 });
    await log.getByText(/revision 4 is healthy: 2\/2 replicas serve/).waitFor();
    const all = (await server.api<Rollout>(`/api/rollouts/${started.body.id}`)).body.lines.map((l) => l.line);
    assert.ok(all.length >= 4, all.join('\n'));
    assert.deepEqual(await log.locator('.line').allTextContents(), all, 'every progress line, once, in order');
    // the card read its status again at the end
    await card.getByText('#4 · deploy by admin').waitFor({ timeout: 10_000 });
    await eventually('two replicas of revision 4 only', async () => {
      const rows = await replicas.locator('tbody tr').allTextContents();
      return rows.length === 2 && rows.every((r) => /^slipway-web-ui-4-\w+#4healthy$/.test(r));
    }, 30_000);
    await panel.getByRole('button', { name: 'Dismiss' }).click();
    await panel.waitFor({ state: 'detached' });
  } finally {
    await context.close();
  }
});

test('Roll back to #1 from the timeline: the confirmation names both revisions and what changes, and revision 1 serves again', async () => {
  const { context, page } = await signedIn(browser, server.url, server.token);
  try {
    await page.goto('/environments');
    const card = page.getByRole('article', { name: 'web in ui' });
    await card.getByText('#4 · deploy by admin').waitFor();
    await card.getByRole('button', { name: 'History' }).click();
    // the newest healthy revisions before the serving one can be chosen; the serving one cannot
    await card.getByRole('button', { name: 'Roll back to #3' }).waitFor();
    assert.equal(await card.getByRole('button', { name: 'Roll back to #4' }).count(), 0);
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.accept();
    });
    await card.getByRole('button', { name: 'Roll back to #1' }).click();
    await card.getByRole('status').getByText(/rollback to #1 started/).waitFor();
    const question = asked[0] ?? '';
    assert.match(question, /^Roll web\/ui back from revision 4 \(slipway-deploy-test\/hello:v2\) to revision 1 \(slipway-deploy-test\/hello:v1\)\?/);
    assert.ok(question.includes('Image: slipway-deploy-test/hello:v2 → slipway-deploy-test/hello:v1'), question);
    assert.match(question, /Config: .*replicas 2 → 1/);
    assert.match(question, /Commits: not known \(revision 4 has no known commit/);

    // the rollback this page started is followed at once, and revision 5 restores revision 1
    const panel = card.getByRole('region', { name: /^rollout ro_/ });
    await panel.getByText('healthy', { exact: true }).waitFor({ timeout: 60_000 });
    await panel.getByRole('log', { name: 'progress' }).getByText(/rolling back to revision 1 .* as revision 5/).waitFor();
    await card.getByText('#5 · rollback by admin').waitFor({ timeout: 10_000 });
    await card.getByRole('list', { name: 'revisions of web in ui' }).getByText(/restores #1\)/).first().waitFor();
    const endpoint = await endpointOf();
    await eventually('v1 served again', async () => (await (await fetch(`${endpoint}/`)).text()) === 'hello from hello-web v1\n', 30_000);
  } finally {
    await context.close();
  }
});

test('two revisions ticked in the timeline are compared — image, settings, commits — and the address keeps the comparison', async () => {
  const { context, page } = await signedIn(browser, server.url, server.token);
  try {
    await page.goto('/environments');
    const card = page.getByRole('article', { name: 'web in ui' });
    await card.getByRole('button', { name: 'History' }).click();
    await card.getByRole('checkbox', { name: 'Compare #2' }).check();
    await card.getByRole('checkbox', { name: 'Compare #4' }).check();
    const diff = card.getByRole('region', { name: 'Changes from revision 2 to revision 4' });
    await diff.getByText('unchanged: slipway-deploy-test/hello:v2').waitFor();
    await diff.getByRole('row', { name: 'replicas 1 2' }).waitFor();
    await diff.getByRole('row', { name: 'health.healthy 1 6' }).waitFor();
    await diff.getByText(/^Not known: revision 2 has no known commit/).waitFor();
    assert.match(page.url(), /\/environments\?history=web%2Fui&compare=2%2C4$/);

    // a third tick replaces the first; the address can be opened as it is
    await card.getByRole('checkbox', { name: 'Compare #1' }).check();
    assert.equal(await card.getByRole('checkbox', { name: 'Compare #2' }).isChecked(), false);
    const other = card.getByRole('region', { name: 'Changes from revision 1 to revision 4' });
    await other.getByText('slipway-deploy-test/hello:v1', { exact: true }).waitFor();
    await page.goto(page.url());
    await page.getByRole('region', { name: 'Changes from revision 1 to revision 4' }).getByRole('row', { name: 'replicas 1 2' }).waitFor();
  } finally {
    await context.close();
  }
});

test('the Environments page with its replicas, and a comparison, at desktop and phone size: screenshots kept, no serious or critical accessibility violation', async () => {
  const { context } = await signedIn(browser, server.url, server.token);
  const pages: Array<[string, string]> = [
    ['environments-replicas', '/environments?history=web/ui'],
    ['environments-diff', '/environments?history=web/ui&compare=1,4'],
  ];
  try {
    const problems = await auditPages(browser, server.url, context, pages, async (page, name, size) => {
      await page.getByRole('table', { name: 'Replicas of web in ui' }).waitFor();
      if (name === 'environments-diff') await page.getByRole('region', { name: 'Changes from revision 1 to revision 4' }).getByRole('table').waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${name} (${size}) scrolls sideways by ${overflow}px`);
    });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
