// The registry page in a real browser against a real server whose registry the Docker engine
// pushed two images to, one of them deployed: repositories, then a repository's tags with digest
// (copied), size, platform, times and the environment running it; an admin deletes a tag after a
// confirmation naming the tag, its digest and where it runs; a read-only token sees Delete
// disabled with the reason; both pages screenshotted at desktop and phone sizes and checked with axe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { testServer, type TestServer } from '../server/support.js';
import { forgetLocalImages, pushLocalImage, type PushedImage } from '../server/registry-images.js';
import { buildImages, IMAGES } from '../deploy-docker/support.js';
import { auditPages, launch, signedIn } from './browser.js';

const FAST = { health: { path: '/healthz', interval: '200ms', healthy: 1, unhealthy: 2 }, strategy: { maxSurge: 1, maxUnavailable: 0, progressDeadline: '20s' } };

let server: TestServer;
let browser: Browser;
let v1: PushedImage;
let v2: PushedImage;

before(async () => {
  [server, browser] = await Promise.all([testServer(), launch(), buildImages()]).then(([s, b]) => [s, b] as const);
  v1 = await pushLocalImage(server, IMAGES.v1, 'shop/web', 'v1');
  v2 = await pushLocalImage(server, IMAGES.v2, 'shop/web', 'v2');
  const started = await server.api<{ id: string }>('/api/apps/web/environments/staging/deploy', { method: 'POST', body: { ...FAST, image: v1.pinned, replicas: 1, port: 8080 } });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  assert.equal((await server.rolloutEnded(started.body.id)).status, 'healthy');
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await forgetLocalImages([v1, v2].filter(Boolean));
});

test('the repositories and a repository tags read well at both sizes and pass axe', async () => {
  const { context } = await signedIn(browser, server.url, server.token);
  try {
    const problems = await auditPages(
      browser,
      server.url,
      context,
      [
        ['registry', '/registry'],
        ['registry-tags', '/registry/shop/web'],
      ],
      async (page, name) => {
        if (name === 'registry-tags') await page.getByRole('link', { name: 'web/staging' }).waitFor();
        else await page.getByRole('link', { name: 'shop/web' }).waitFor();
      },
    );
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test("an admin browses to a repository's tags, copies a digest, and deletes a tag after a confirmation naming it, its digest and where it runs", async () => {
  const { context, page } = await signedIn(browser, server.url, server.token);
  try {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Registry' }).click();
    const repo = page.getByRole('row', { name: /shop\/web/ });
    await repo.getByRole('cell', { name: '2', exact: true }).waitFor();
    await repo.getByRole('link', { name: 'shop/web' }).click();
    await page.getByRole('heading', { name: /shop\/web/ }).waitFor();

    const row = page.getByRole('row', { name: /^v1 / });
    await row.getByRole('link', { name: 'web/staging' }).waitFor();
    await row.getByText(v1.digest.slice(0, 'sha256:'.length + 12), { exact: true }).waitFor();
    await row.getByText(/^linux\/[a-z0-9]+$/).waitFor();
    assert.match((await row.getByRole('cell').nth(1).textContent()) ?? '', /MB/, 'the size reads in MB');
    assert.match((await row.textContent()) ?? '', /ago/);
    const other = page.getByRole('row', { name: /^v2 / });
    assert.equal(await other.getByRole('link', { name: 'web/staging' }).count(), 0, 'v2 runs nowhere');

    await row.getByRole('button', { name: 'Copy the digest of v1' }).click();
    await row.getByText('Copied').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), v1.digest);

    const asked = new Promise<string>((resolve) => {
      page.once('dialog', (dialog) => {
        resolve(dialog.message());
        void dialog.accept();
      });
    });
    await row.getByRole('button', { name: 'Delete v1' }).click();
    const question = await asked;
    assert.match(question, /Delete the tag shop\/web:v1/);
    assert.ok(question.includes(v1.digest), question);
    assert.match(question, /runs in web\/staging/);
    await page.getByRole('status').getByText(/Tag v1 deleted/).waitFor();
    await row.waitFor({ state: 'detached' });
    const left = await server.api<{ tags: Array<{ tag: string }> }>('/api/registry/tags?repository=shop/web');
    assert.deepEqual(left.body.tags.map((t) => t.tag), ['v2']);
  } finally {
    await context.close();
  }
});

test('a read-only token sees the tags with Delete disabled, saying why', async () => {
  const reader = await server.tokenWith(['read'], 'viewer');
  const { context, page } = await signedIn(browser, server.url, reader);
  try {
    await page.goto('/registry/shop/web');
    const button = page.getByRole('row', { name: /^v2 / }).getByRole('button', { name: /^Delete v2/ });
    await button.waitFor();
    assert.equal(await button.isDisabled(), true);
    assert.match((await button.textContent()) ?? '', /needs a token with the admin scope/);
  } finally {
    await context.close();
  }
});
