// bench/ui: the web UI in Debian's chromium (playwright-core) against a real server, with the
// issue's targets: the runs page's first screen of data with 10,000 runs stored (< 1 s); a finished
// 100,000-line log's first screen (< 1 s), a jump to line 90,000 (< 200 ms), a search over all its
// lines (< 300 ms); a live log taking 2,000 lines/s for 30 s with no main-thread task over 100 ms
// and bounded memory; the initial JavaScript size. Each timed figure is the median of
// BENCH_ROUNDS (default 5) fresh page loads; every sample is printed.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { openStore, type Store } from '../../src/store/index.js';
import { spawnServer } from '../../test/support/server-process.js';
import { launch, signedIn } from '../../test/ui/browser.js';
import { repoRoot } from '../../test/support/paths.js';

const TOKEN = 'bench-admin-token-0123456789abcdef';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const LIVE_SECONDS = Number(process.env.BENCH_LIVE_SECONDS ?? 30);
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? Number.NaN;
const trigger = { event: 'push' as const, branch: 'main', commit: 'c'.repeat(40), sender: 'bench', commitMessage: 'a change' };

async function seed(store: Store): Promise<{ bigRun: string; liveRun: string }> {
  const many = await store.createProject({ name: 'many' });
  await store.transaction(async (tx) => {
    for (let i = 0; i < 10_000; i++) await tx.enqueueRun({ projectId: many.id, pipeline: { file: 'slipway.yaml', text: '' }, trigger: { ...trigger, branch: i % 3 ? 'main' : 'dev' } });
  });
  const logs = await store.createProject({ name: 'logs' });
  const big = await store.enqueueRun({ projectId: logs.id, pipeline: { file: 'slipway.yaml', text: '' }, trigger });
  await store.updateRunStatus(big.id, 'running');
  const plan = [{ name: 'big', kind: 'steps' as const, needs: [], steps: ['print'] }];
  await store.appendRunEvents(big.id, [{ type: 'run.started', runId: big.id, pipeline: 'logs', branch: 'main', commit: trigger.commit, jobs: plan, at: Date.now() }]);
  await store.upsertJob({ runId: big.id, name: 'big', status: 'success', attempt: 1, startedAtMs: Date.now() - 60_000, finishedAtMs: Date.now() });
  for (let start = 0; start < 100_000; start += 5000) {
    await store.appendLogs(
      big.id,
      Array.from({ length: 5000 }, (_, k) => {
        const n = start + k + 1;
        // some colour, as build tools print it
        const line = n % 10 === 0 ? `\x1b[32m✓\x1b[0m test ${n} passed in ${n % 97} ms` : `line ${n}: compiling module-${n % 613}.ts`;
        return { job: 'big', step: 0, stream: 'stdout' as const, line };
      }),
    );
  }
  await store.updateRunStatus(big.id, 'success');
  const live = await store.enqueueRun({ projectId: logs.id, pipeline: { file: 'slipway.yaml', text: '' }, trigger });
  await store.updateRunStatus(live.id, 'running');
  await store.appendRunEvents(live.id, [{ type: 'run.started', runId: live.id, pipeline: 'logs', branch: 'main', commit: trigger.commit, jobs: [{ ...plan[0]!, name: 'live' }], at: Date.now() }]);
  await store.upsertJob({ runId: live.id, name: 'live', status: 'running', attempt: 1, startedAtMs: Date.now() });
  return { bigRun: big.id, liveRun: live.id };
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await work();
  return performance.now() - t;
}

function initialJsGzipBytes(): number {
  const dir = path.join(repoRoot, 'dist', 'ui');
  const html = readFileSync(path.join(dir, 'index.html'), 'utf8');
  return readdirSync(path.join(dir, 'assets'))
    .filter((name) => name.endsWith('.js') && html.includes(`/assets/${name}`))
    .reduce((sum, name) => sum + gzipSync(readFileSync(path.join(dir, 'assets', name))).length, 0);
}

async function main(): Promise<void> {
  const data = mkdtempSync(path.join(os.tmpdir(), 'slipway-bench-ui-'));
  const store = await openStore(undefined, data, { env: process.env });
  const { bigRun, liveRun } = await seed(store);
  // concurrency 0: this server claims nothing and leaves the bench's "running" runs alone
  const server = spawnServer(data, { concurrency: 0, adminToken: TOKEN });
  const base = await server.url;
  const browser = await launch();
  const figures = { runsPage: [] as number[], logFirst: [] as number[], logAll: [] as number[], jump: [] as number[], search: [] as number[] };
  let live = { longest: 0, over100: 0, heapStartMb: 0, heapEndMb: 0, lines: 0 };
  try {
    const { context, page } = await signedIn(browser, base, TOKEN);
    for (let round = 0; round < ROUNDS; round++) {
      await page.goto('/');
      figures.runsPage.push(await timed(async () => {
        await page.goto('/projects/many');
        await page.locator('table.list tbody tr').first().waitFor();
      }));
      const opened = performance.now();
      await page.goto(`/runs/${bigRun}?job=big`);
      await page.locator('.log .row[data-line="1"]').waitFor();
      figures.logFirst.push(performance.now() - opened);
      // the whole log is in: the count says so
      await page.locator('.log-bar .count', { hasText: '100000 lines' }).waitFor({ timeout: 60_000 });
      figures.logAll.push(performance.now() - opened);
      figures.jump.push(await timed(async () => {
        await page.evaluate(() => (location.hash = '#L90000'));
        await page.locator('.log .row[data-line="90000"].marked').waitFor();
      }));
      figures.search.push(await timed(async () => {
        await page.getByPlaceholder('Search the whole log').fill('module-612.ts');
        await page.locator('.log-bar .count', { hasText: /^1 \/ [0-9]+$/ }).waitFor();
      }));
    }

    // the live log: 2,000 lines/s appended by another writer while the page follows
    await page.goto(`/runs/${liveRun}?job=live`);
    await page.locator('.log-bar').waitFor();
    await page.evaluate(() => {
      const w = window as unknown as { __long: number[] };
      w.__long = [];
      new PerformanceObserver((list) => list.getEntries().forEach((e) => w.__long.push(e.duration))).observe({ type: 'longtask', buffered: false });
    });
    const heap = (): Promise<number> => page.evaluate(() => ((performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0) / 2 ** 20);
    const heapStartMb = await heap();
    let appended = 0;
    const until = Date.now() + LIVE_SECONDS * 1000;
    while (Date.now() < until) {
      const tick = Date.now();
      await store.appendLogs(liveRun, Array.from({ length: 100 }, (_, k) => ({ job: 'live', step: 0, stream: 'stdout' as const, line: `\x1b[36mlive\x1b[0m line ${appended + k + 1}` })));
      appended += 100;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 50 - (Date.now() - tick))));
    }
    await page.locator('.log-bar .count', { hasText: `${appended} lines` }).waitFor({ timeout: 30_000 });
    const long = await page.evaluate(() => (window as unknown as { __long: number[] }).__long);
    live = { longest: Math.max(0, ...long), over100: long.filter((d) => d > 100).length, heapStartMb, heapEndMb: await heap(), lines: appended };
    await context.close();
  } finally {
    await browser.close();
    await server.stop();
    await store.close();
    rmSync(data, { recursive: true, force: true });
  }
  const row = (what: string, v: number[], target: number): string => `| ${what} | **${Math.round(median(v))} ms** | ${v.map(Math.round).join(', ')} | < ${target} ms | ${(median(v) / target).toFixed(2)}× |`;
  console.log(`bench/ui — ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, Debian chromium headless, SQLite, ${ROUNDS} rounds, medians; load average ${os.loadavg()[0]!.toFixed(1)}`);
  console.log('| what | median | every sample | target | ratio to target |\n|---|---|---|---|---|');
  console.log(row('runs page, 10,000 runs stored: navigation → first row', figures.runsPage, 1000));
  console.log(row('finished 100,000-line log: navigation → first screen', figures.logFirst, 1000));
  console.log(`| the same: all 100,000 lines loaded (searchable) | ${Math.round(median(figures.logAll))} ms | ${figures.logAll.map(Math.round).join(', ')} | | |`);
  console.log(row('jump to line 90,000 (#L90000)', figures.jump, 200));
  console.log(row('search all 100,000 lines (count shown)', figures.search, 300));
  console.log(`| live log, ${live.lines} lines in ${LIVE_SECONDS} s (${Math.round(live.lines / LIVE_SECONDS)}/s), following | longest main-thread task ${Math.round(live.longest)} ms, ${live.over100} over 100 ms; JS heap ${live.heapStartMb.toFixed(1)} → ${live.heapEndMb.toFixed(1)} MB | no task > 100 ms, bounded memory | ${(live.longest / 100).toFixed(2)}× |`);
  console.log(`| initial JavaScript | ${(initialJsGzipBytes() / 1024).toFixed(1)} KB gzipped | < 100 KB | ${(initialJsGzipBytes() / 102_400).toFixed(2)}× |`);
}

await main();
