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
