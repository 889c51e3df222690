// The web UI in a real browser (Debian's chromium through playwright-core) against a real server:
// sign-in, a pushed run watched live, a failed job opened at its failing lines, an approval, a
// read-only token's disabled buttons, hostile log text shown as text, every page screenshotted at
// desktop and phone sizes and checked with axe-core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { testServer, tempRepo, type TestServer } from '../server/support.js';
import { auditPages, launch, screenshot, signedIn } from './browser.js';

let server: TestServer;
let browser: Browser;

async function pushed(project: string, pipeline: string): Promise<void> {
  const repo = tempRepo({ 'slipway.yaml': pipeline });
  try {
    await server.push(repo, project);
  } finally {
    repo.remove();
  }
}

const runPage = async (page: Page, project: string, number = 1): Promise<void> => {
  await page.goto(`/projects/${project}`);
  await page.getByRole('link', { name: `#${number}`, exact: true }).click();
  await page.getByRole('heading', { name: new RegExp(`^Run #${number}`) }).waitFor();
};

before(async () => {
  server = await testServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('signs in with a token and watches a pushed run go from running to success, its log arriving live', async () => {
  const { context, page } = await signedIn(browser, server.url, server.token);
  try {
    await pushed('shop', `version: 1
name: shop
jobs:
  build:
    image: busybox:latest
    steps:
      - run: echo first line; sleep 2; echo second line; sleep 1; echo last line
`);
    await runPage(page, 'shop');
    const log = page.getByLabel('log lines');
    await log.getByText('first line').waitFor({ timeout: 30_000 });
    assert.equal(await log.getByText('last line').count(), 0, 'the first line shows before the step ends');
    await log.getByText('last line').waitFor({ timeout: 30_000 });
    await page.locator('h1 .badge', { hasText: 'success' }).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: /^build success/ }).waitFor();
  } finally {
    await context.close();
  }
});

test("a project's runs page follows the server's change stream: a new run and its end show at once, with no reload", async () => {
  const { context, page } = await signedIn(browser, server.url, server.token);
  try {
    await page.goto('/projects/shop');
    await page.getByRole('status').filter({ hasText: 'live' }).waitFor();
    // the stream is open, so the page reads again only every 15 s on its own: what shows sooner came by the stream
    const started = await server.api<{ number: number }>('/api/projects/shop/runs', { method: 'POST', body: {} });
    assert.equal(started.status, 201);
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: `#${started.body.number}`, exact: true }) });
    await row.waitFor({ timeout: 2500 });
    await server.waitForRun('shop', started.body.number);
    await row.getByText('success').waitFor({ timeout: 2500 });
    await page.getByLabel('filter runs').getByLabel('Event').selectOption('manual');
    await page.getByRole('link', { name: '#1', exact: true }).waitFor({ state: 'detached' });
    assert.equal(await page.getByRole('link', { name: `#${started.body.number}`, exact: true }).count(), 1, 'the manual run stays under event = manual');
  } finally {
    await context.close();
  }
});

test("a pull request's run says which pull request it tests, its branch into its base", async () => {
  const repo = tempRepo({ 'slipway.yaml': 'version: 1\nname: reviewed\non:\n  pull_request: { branches: [main] }\njobs:\n  check:\n    image: busybox:latest\n    steps:\n      - run: echo reviewed\n' });
  const { context, page } = await signedIn(browser, server.url, server.token);
  try {
    await server.push(repo, 'reviewed');
    await server.push(repo, 'reviewed', 'HEAD:refs/for/main%topic=tidy-up');
    await page.goto('/projects/reviewed');
    const row = page.getByRole('row').filter({ hasText: 'pull request #' });
    await row.getByText('(tidy-up → main)').waitFor();
    await row.getByRole('link', { name: /^#\d+$/ }).click();
    await page.locator('.meta').getByText(/pull request #\d+/).waitFor();
  } finally {
    await context.close();
    repo.remove();
  }
});

// the failing line goes to stdout: Docker copies a process's stdout and stderr pipes separately, so
// a line on stderr can arrive before stdout lines written earlier (as on every non-TTY runner)
test("a failed run opens at its failing step's last lines", async () => {
  const { context, page } = await signedIn(browser, server.url, server.token);
  try {
    await pushed('broken', `version: 1
name: broken
jobs:
  test:
    image: busybox:latest
    steps:
      - run: |
          for i in $(seq 1 400); do echo "line $i"; done
          echo "boom: the build broke"
          exit 3
`);
    const run = await server.waitForRun('broken', 1);
    assert.equal(run.status, 'failure');
    await runPage(page, 'broken');
    const failing = page.getByLabel('log lines').getByText('boom: the build broke');
    await failing.waitFor({ timeout: 30_000 }).catch(async (err: unknown) => {
      await screenshot(page, 'failed-run-not-at-end');
      await page.locator('.log-scroll').evaluate((el) => (el.scrollTop = 0));
      await page.waitForTimeout(300);
      const rows = await page.locator('.log .row').evaluateAll((rs) => rs.map((r) => `${r.getAttribute('data-line')}:${r.textContent}:${r.className}`));
      throw new Error(`${(err as Error).message}\nrows: ${rows.slice(0, 2).join(' | ')} … ${rows.slice(-2).join(' | ')}`);
    });
    assert.ok(await failing.isVisible(), 'the failing line is on screen without scrolling');
    await page.getByText('exit 3').waitFor();
  } finally {
    await context.close();
  }
});

test('a waiting job is approved from the run page and runs', async () => {
  const { context, page } = await signedIn(browser, server.url, server.token);
  try {
    await pushed('gated', `version: 1
name: gated
jobs:
  ship:
    when: manual
    image: busybox:latest
    steps:
      - run: echo shipped it
`);
    const run = await server.waitForRun('gated', 1);
    assert.equal(run.status, 'waiting');
    await runPage(page, 'gated');
    await page.getByRole('button', { name: 'Approve ship' }).click();
    await page.getByLabel('log lines').getByText('shipped it').waitFor({ timeout: 30_000 });
    await page.locator('h1 .badge', { hasText: 'success' }).waitFor({ timeout: 30_000 });
    await page.getByText(/approved by admin/).first().waitFor();
  } finally {
    await context.close();
  }
});

test('a read-only token sees everything and finds the actions disabled, with the reason', async () => {
  const reader = await server.tokenWith(['read'], 'viewer');
  const { context, page } = await signedIn(browser, server.url, reader);
  try {
    await runPage(page, 'shop');
    for (const name of [/^Cancel/, /^Re-run —/, /^Re-run failed jobs/]) {
      const button = page.getByRole('button', { name });
      assert.ok(await button.isDisabled(), `${name} is disabled`);
    }
    await page.getByText('needs a token with the run scope').first().waitFor();
  } finally {
    await context.close();
  }
});

test("a step's HTML and terminal escape sequences are shown as text, and run nothing", async () => {
  const { context, page } = await signedIn(browser, server.url, server.token);
  try {
    await pushed('hostile', `version: 1
name: hostile
jobs:
  print:
    image: busybox:latest
    steps:
      - run: |
          echo '<script>window.__pwned = 1</script>'
          echo '<img src=x onerror="window.__pwned = 2">'
          printf '\\033[31mred words\\033[0m then plain\\n'
          printf '\\033]0;a title\\007after the title\\n'
`);
    await server.waitForRun('hostile', 1);
    await runPage(page, 'hostile');
    const log = page.getByLabel('log lines');
    await log.getByText('<script>window.__pwned = 1</script>').waitFor({ timeout: 30_000 });
    await log.getByText('<img src=x onerror="window.__pwned = 2">').waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, 'nothing the log printed ran');
    assert.equal(await log.locator('img').count(), 0);
    assert.equal(await log.locator('span.fg-red', { hasText: 'red words' }).count(), 1, 'SGR colours become styles');
    await log.getByText('after the title').waitFor();
    assert.equal(await log.getByText('a title').count(), 0, 'other escape sequences are dropped');
  } finally {
    await context.close();
  }
});

test('every page at desktop and phone size: screenshots kept, no serious or critical accessibility violation', async () => {
  const { context } = await signedIn(browser, server.url, server.token);
  const shop = (await server.api<{ runs: Array<{ id: string }> }>('/api/runs?project=shop')).body.runs[0]!;
  const pages: Array<[string, string]> = [
    ['login', '/login'],
    ['projects', '/'],
    ['project-runs', '/projects/shop'],
    ['run', `/runs/${shop.id}`],
    ['environments', '/environments'],
  ];
  try {
    assert.deepEqual(await auditPages(browser, server.url, context, pages), []);
  } finally {
    await context.close();
  }
});
