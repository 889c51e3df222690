// The settings and DORA pages in a real browser against a real server: an admin creates a token
// (its secret shown once, and it works) and revokes it, sets a project secret whose value never
// comes back to the page, sets a webhook secret and reads the URL to paste; the DORA page of a
// project without deployments says so; a read-only token finds settings refused with the reason;
// both pages screenshotted at desktop and phone sizes and checked with axe-core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { testServer, type TestServer } from '../server/support.js';
import { auditPages, launch, screenshot, signedIn } from './browser.js';

let server: TestServer;
let browser: Browser;

before(async () => {
  server = await testServer();
  browser = await launch();
  const created = await server.api('/api/projects', { method: 'POST', body: { name: 'vault' } });
  assert.equal(created.status, 201);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Accepts the next confirmation and returns what it asked. */
function nextConfirmation(page: Page): Promise<string> {
  return new Promise((resolve) => {
    page.once('dialog', (dialog) => {
      resolve(dialog.message());
      void dialog.accept();
    });
  });
}

test('an admin creates a token on the settings page, sees its secret once, uses it, and revokes it', async () => {
  const { context, page } = await signedIn(browser, server.url, server.token);
  try {
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'API tokens' }).waitFor();
    await page.getByLabel('Name', { exact: true }).first().fill('ci-laptop');
    await page.getByRole('checkbox', { name: /^run/ }).check();
    await page.getByRole('button', { name: 'Create token' }).click();

    const field = page.getByLabel('Secret of ci-laptop', { exact: true });
    await field.waitFor();
    const secret = await field.inputValue();
    assert.match(secret, /.{20,}/);
    await page.getByText('Shown once.').first().waitFor();
    const who = await server.api<{ name: string; scopes: string[] }>('/api/session', { token: secret });
    assert.equal(who.status, 200, 'the new token signs in');
    assert.deepEqual(who.body, { name: 'ci-laptop', scopes: ['read', 'run'] });

    await page.getByRole('button', { name: 'I have copied it' }).click();
    await field.waitFor({ state: 'detached' });
    assert.ok(!(await page.content()).includes(secret), 'the secret is gone from the page once dismissed');

    const row = page.getByRole('row', { name: /ci-laptop/ });
    await row.getByText('read, run').waitFor();
    const asked = nextConfirmation(page);
    await row.getByRole('button', { name: /^Revoke ci-laptop/ }).click();
    assert.match(await asked, /Revoke the token "ci-laptop"/);
    await row.getByText(/^revoked/).waitFor();
    assert.equal(await row.getByRole('button', { name: /^Revoke/ }).count(), 0);
    assert.equal((await server.api('/api/session', { token: secret })).status, 401, 'the revoked token is refused');
  } finally {
    await context.close();
  }
});

test("an admin sets a project secret and sees its name, never its value; deletes it with a confirmation", async () => {
  const value = 'hunter2-do-not-show-me-5b7e';
  const { context, page } = await signedIn(browser, server.url, server.token);
  try {
    await page.goto('/settings');
    await page.getByRole('heading', { name: 'Secrets of vault' }).waitFor();
    await page.getByLabel('Project', { exact: true }).selectOption('vault');
    await page.getByLabel('Name', { exact: true }).last().fill('API_TOKEN');
    await page.getByLabel('Value', { exact: true }).fill(value);
    await page.getByRole('button', { name: 'Set secret' }).click();
    const list = page.getByRole('list', { name: 'secrets of vault' });
    await list.getByText('API_TOKEN', { exact: true }).waitFor();
    await page.getByText(/Secret API_TOKEN set/).waitFor();
    assert.equal(await page.getByLabel('Value', { exact: true }).inputValue(), '', 'the value field is cleared');
    assert.ok(!(await page.content()).includes(value), "the page's HTML never holds the value");
    const names = await server.api<{ names: string[] }>('/api/projects/vault/secrets');
    assert.deepEqual(names.body.names, ['API_TOKEN']);

    // reload: the list comes from the server, still names only
    await page.reload();
    await page.getByRole('list', { name: 'secrets of vault' }).getByText('API_TOKEN', { exact: true }).waitFor();
    assert.ok(!(await page.content()).includes(value));

    const asked = nextConfirmation(page);
    await page.getByRole('button', { name: 'Delete API_TOKEN' }).click();
    assert.match(await asked, /Delete the secret API_TOKEN of vault/);
    await page.getByText('No secret yet.').waitFor();
    assert.deepEqual((await server.api<{ names: string[] }>('/api/projects/vault/secrets')).body.names, []);
  } finally {
    await context.close();
  }
});

test('an admin sets a new webhook secret and reads the exact URL to paste per forge', async () => {
  const { context, page } = await signedIn(browser, server.url, server.token);
  try {
    await page.goto('/settings');
    await page.getByRole('heading', { name: 'Webhook of vault' }).waitFor();
    assert.equal(await page.getByLabel('Payload URL (GitHub)').inputValue(), `${server.url}/hooks/github/vault`);
    assert.equal(await page.getByLabel('Target URL (Gitea or Forgejo)').inputValue(), `${server.url}/hooks/gitea/vault`);
    assert.equal(await page.getByLabel('URL (GitLab)', { exact: true }).inputValue(), `${server.url}/hooks/gitlab/vault`);
    await page.getByText('application/json').first().waitFor();

    await page.getByRole('button', { name: 'Set a new webhook secret' }).click();
    const secret = await page.getByLabel('New webhook secret of vault', { exact: true }).inputValue();
    assert.match(secret, /^[0-9a-f]{64}$/);
    await page.getByText('Shown once.').first().waitFor();
    const project = await server.api<{ hasWebhookSecret: boolean }>('/api/projects/vault');
    assert.equal(project.body.hasWebhookSecret, true);
  } finally {
    await context.close();
  }
});

test("an admin points a project's commit status at a forge with a token it never sees again, and turns it off", async () => {
  const { context, page } = await signedIn(browser, server.url, server.token);
  try {
    await page.goto('/settings');
    const section = page.getByRole('region', { name: 'Commit status of vault' });
    await section.getByText('Off: runs are not reported').waitFor();
    await section.getByLabel('Forge', { exact: true }).selectOption('gitea');
    const turnOn = section.getByRole('button', { name: 'Turn on' });
    await section.getByLabel('Token', { exact: true }).fill('gitea-token-never-shown');
    assert.equal(await turnOn.isDisabled(), true, 'gitea needs its API URL');
    await section.getByLabel('API URL', { exact: true }).fill('https://git.example.test');
    await turnOn.click();
    await section.getByText('now report their state to Gitea').waitFor();
    const project = await server.api<{ commitStatus?: { provider: string; apiUrl?: string } }>('/api/projects/vault');
    assert.deepEqual(project.body.commitStatus, { provider: 'gitea', apiUrl: 'https://git.example.test' });
    await section.getByText('reported to gitea at https://git.example.test').waitFor();
    assert.equal(await section.getByLabel('Token', { exact: true }).inputValue(), '', 'the token field is emptied');
    assert.equal((await page.content()).includes('gitea-token-never-shown'), false, 'the token is not on the page');

    page.once('dialog', (dialog) => void dialog.accept());
    await section.getByRole('button', { name: 'Turn off' }).click();
    await section.getByText('no longer report their state').waitFor();
    assert.equal((await server.api<{ commitStatus?: unknown }>('/api/projects/vault')).body.commitStatus, undefined);
  } finally {
    await context.close();
  }
});

test('the DORA page of a project without deployments says so, for every window', async () => {
  const { context, page } = await signedIn(browser, server.url, server.token);
  try {
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'DORA' }).click();
    await page.getByRole('heading', { name: 'DORA metrics' }).waitFor();
    await page.getByLabel('Project', { exact: true }).selectOption('vault');
    assert.equal(await page.getByLabel('Environment', { exact: true }).inputValue(), 'production');
    await page.getByText('No deployments to production of vault in the last 90 days.').waitFor();
    await page.getByRole('button', { name: '7 days' }).click();
    assert.equal(await page.getByRole('button', { name: '7 days' }).getAttribute('aria-pressed'), 'true');
    assert.match(page.url(), /project=vault/);
    assert.match(page.url(), /days=7/);
    await page.getByText('No deployments to production of vault in the last 90 days.').waitFor();
  } finally {
    await context.close();
  }
});

test('a read-only token finds the settings refused, with the reason, and no Settings link', async () => {
  const reader = await server.tokenWith(['read'], 'viewer');
  const { context, page } = await signedIn(browser, server.url, reader);
  try {
    assert.equal(await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Settings' }).count(), 0);
    await page.goto('/settings');
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    await page.getByText(/needs a token with the admin scope/).waitFor();
    assert.equal(await page.getByRole('heading', { name: 'API tokens' }).count(), 0);
    assert.equal(await page.locator('main input, main button, main select').count(), 0, 'nothing else on the page');
    await screenshot(page, 'settings-read-only-desktop');
  } finally {
    await context.close();
  }
});

test('settings and DORA at desktop and phone size: screenshots kept, no serious or critical accessibility violation', async () => {
  const { context } = await signedIn(browser, server.url, server.token);
  const pages: Array<[string, string]> = [
    ['settings', '/settings'],
    ['dora', '/dora'],
    ['dora-vault', '/dora?project=vault&environment=production&days=7'],
  ];
  try {
    const problems = await auditPages(browser, server.url, context, pages, async (page, name, size) => {
      await page.locator('.loading').first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${name} (${size}) scrolls sideways by ${overflow}px`);
    });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
