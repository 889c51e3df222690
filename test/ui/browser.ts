// A real browser for the UI's tests and bench: Debian's chromium driven by playwright-core (no
// downloaded browser), screenshots kept under test-results/ui, and axe-core's accessibility check.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot } from '../support/paths.js';

export const SCREENSHOTS = path.join(repoRoot, 'test-results', 'ui');
export const SIZES = { desktop: { width: 1366, height: 768 }, phone: { width: 390, height: 844 } } as const;

export async function launch(): Promise<Browser> {
  // root in a container has no user namespace for the sandbox
  return chromium.launch({ executablePath: process.env.SLIPWAY_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** Signs in with `token` in a fresh context (its own cookie jar) and returns the page on the projects list. */
export async function signedIn(browser: Browser, baseUrl: string, token: string, size: keyof typeof SIZES = 'desktop'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: SIZES[size] });
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Projects' }).waitFor();
  return { context, page };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/**
 * axe-core's serious and critical violations on the page as it is now. axe is injected through a
 * second page of a context that bypasses the CSP (the app's own pages never allow inline scripts).
 */
export async function seriousViolations(browser: Browser, baseUrl: string, cookieFrom: BrowserContext, url: string, size: keyof typeof SIZES = 'desktop'): Promise<AxeViolation[]> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: SIZES[size], bypassCSP: true });
  try {
    await context.addCookies(await cookieFrom.cookies());
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForLoadState('networkidle').catch(() => undefined);
    await page.locator('main, .login').first().waitFor();
    await page.addScriptTag({ path: axePath });
    const results = (await page.evaluate(async () => {
      const axe = (globalThis as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: AxeViolation[] }> } }).axe;
      return (await axe.run(document, { resultTypes: ['violations'] })).violations;
    })) as AxeViolation[];
    return results.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  } finally {
    await context.close();
  }
}

/**
 * Each page at both sizes, as the signed-in context `cookieFrom` sees it: opened, given `settle`
 * (a page's own waits and checks), screenshotted as NAME-SIZE, and checked with axe. Returns the
 * serious and critical violations, one line each.
 */
export async function auditPages(
  browser: Browser,
  baseUrl: string,
  cookieFrom: BrowserContext,
  pages: ReadonlyArray<readonly [name: string, url: string]>,
  settle: (page: Page, name: string, size: keyof typeof SIZES) => Promise<void> = async () => undefined,
): Promise<string[]> {
  const problems: string[] = [];
  for (const size of Object.keys(SIZES) as Array<keyof typeof SIZES>) {
    const sized = await browser.newContext({ baseURL: baseUrl, viewport: SIZES[size] });
    try {
      await sized.addCookies(await cookieFrom.cookies());
      const page = await sized.newPage();
      for (const [name, url] of pages) {
        await page.goto(url);
        await page.locator('main h1').first().waitFor();
        await page.waitForLoadState('networkidle').catch(() => undefined);
        await settle(page, name, size);
        await screenshot(page, `${name}-${size}`);
        for (const v of await seriousViolations(browser, baseUrl, cookieFrom, url, size)) {
          problems.push(`${name} (${size}): ${v.impact} ${v.id} — ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
        }
      }
    } finally {
      await sized.close();
    }
  }
  return problems;
}
