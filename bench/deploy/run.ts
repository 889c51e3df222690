// bench/deploy: Slipway's docker target against Docker Swarm on the same images, in one run.
//   healthy update   3 replicas v1 → v2, one at a time (Slipway maxSurge 1 / maxUnavailable 0;
//                    Swarm --update-parallelism 1 --update-order start-first)
//   crash rollback   an image that exits at start: time until the previous revision serves alone
//   unhealthy rollback  an image whose /healthz answers 503
// Both probe GET /healthz every 1 s with a 2 s timeout (Swarm through a health command in the
// container, Slipway from outside through the published port); Swarm rolls back with
// --update-failure-action rollback. Failed requests are counted under a constant 200 req/s load
// for Slipway only: Swarm's ingress routing mesh does not work on this machine, so its published
// ports refuse connections.
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../test/support/paths.js';
import { buildImages, deployRequest, fixture, IMAGES, Load, proxyPort, testSpec } from '../../test/deploy-docker/support.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const SERVICE = 'slipway-bench-deploy';

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

const spec = testSpec({
  replicas: 3,
  health: { path: '/healthz', intervalMs: 1000, timeoutMs: 2000, healthy: 1, unhealthy: 3, startPeriodMs: 0 },
  strategy: { maxSurge: 1, maxUnavailable: 0, progressDeadlineMs: 60_000, autoRollback: true },
});

interface Row {
  name: string;
  slipwayMs: number[];
  swarmMs: number[];
  failed: number[];
  requests: number[];
  outcome: string;
}

async function slipwayRound(rows: Row[]): Promise<void> {
  const f = await fixture();
  try {
    const first = await f.target.deploy(deployRequest('bench', IMAGES.v1, spec));
    if (first.outcome !== 'healthy') throw new Error(`slipway setup failed: ${first.reason}`);
    const port = await proxyPort(f.target, 'bench');
    for (const [row, image] of [
      [rows[0], IMAGES.v2],
      [rows[1], IMAGES.crash],
      [rows[2], IMAGES.unhealthy],
    ] as const) {
      if (!row) continue;
      const load = new Load(port, { ratePerSecond: 200 }).start();
      const started = performance.now();
      const outcome = await f.target.deploy(deployRequest('bench', image, spec));
      const ms = performance.now() - started;
      const result = await load.stop();
      row.slipwayMs.push(ms);
      row.failed.push(result.failed);
      row.requests.push(result.ok + result.failed);
      row.outcome = `slipway: ${outcome.outcome}`;
      if (result.failed > 0) process.stderr.write(`${row.name}: ${result.errors.slice(0, 5).join('\n')}\n`);
    }
  } finally {
    await f.cleanup();
  }
}

function swarmHealthCmd(): string {
  // busybox wget in the image: a cheap probe, as cheap as Slipway's HTTP GET from outside
  return 'wget -q -O /dev/null http://127.0.0.1:8080/healthz';
}

function updateStatus(): { state: string; startedAt: string } {
  const [state = '', startedAt = ''] = docker('service', 'inspect', SERVICE, '--format', '{{if .UpdateStatus}}{{.UpdateStatus.State}}|{{.UpdateStatus.StartedAt}}{{end}}').split('|');
  return { state, startedAt };
}

/** Waits for the update started after `previousStart` to end; returns its final state. */
async function waitUpdate(previousStart: string): Promise<string> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const { state, startedAt } = updateStatus();
    // rollback_paused: Swarm gave up (its monitor saw a failure during the rollback): an end too
    if (startedAt !== previousStart && ['completed', 'rollback_completed', 'rollback_paused', 'paused'].includes(state)) return state;
    if (Date.now() > deadline) throw new Error(`swarm update stuck in '${state}'`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function swarmRound(rows: Row[]): Promise<void> {
  docker(
    'service', 'create', '--detach=false', '--quiet', '--no-resolve-image', '--name', SERVICE, '--replicas', '3',
    '--health-cmd', swarmHealthCmd(), '--health-interval', '1s', '--health-timeout', '2s', '--health-retries', '3', '--health-start-period', '0s',
    '--update-parallelism', '1', '--update-order', 'start-first', '--update-delay', '0s', '--update-failure-action', 'rollback',
    '--rollback-parallelism', '1', '--rollback-order', 'start-first', '--rollback-delay', '0s',
    IMAGES.v1,
  );
  try {
    for (const [row, image] of [
      [rows[0], IMAGES.v2],
      [rows[1], IMAGES.crash],
      [rows[2], IMAGES.unhealthy],
    ] as const) {
      if (!row) continue;
      const before = updateStatus().startedAt;
      const started = performance.now();
      docker('service', 'update', '--detach', '--quiet', '--no-resolve-image', '--image', image, SERVICE);
      const state = await waitUpdate(before);
      row.swarmMs.push(performance.now() - started);
      row.outcome += `; swarm: ${state}`;
    }
  } finally {
    docker('service', 'rm', SERVICE);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function main(): Promise<void> {
  await buildImages();
  const rows: Row[] = ['healthy rolling update, 3 replicas', 'rollback of an image that crashes at start', 'rollback of an image failing its health check'].map((name) => ({
    name,
    slipwayMs: [],
    swarmMs: [],
    failed: [],
    requests: [],
    outcome: '',
  }));
  const wasActive = docker('info', '--format', '{{.Swarm.LocalNodeState}}') === 'active';
  if (!wasActive) docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
  const load0 = os.loadavg()[0] ?? 0;
  try {
    for (let round = 0; round < ROUNDS; round += 1) {
      // alternate which goes first, so neither always runs on a warmer machine
      if (round % 2 === 0) {
        await slipwayRound(rows);
        await swarmRound(rows);
      } else {
        await swarmRound(rows);
        await slipwayRound(rows);
      }
    }
  } finally {
    if (!wasActive) docker('swarm', 'leave', '--force');
  }
  const load1 = os.loadavg()[0] ?? 0;
  const table = [
    '| workload | Slipway s | Swarm s | Slipway / Swarm | failed requests (Slipway, 200 req/s) |',
    '|---|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const s = median(r.slipwayMs) / 1000;
      const w = median(r.swarmMs) / 1000;
      const failed = r.failed.reduce((a, b) => a + b, 0);
      const total = r.requests.reduce((a, b) => a + b, 0);
      return `| ${r.name} | ${s.toFixed(1)} | ${w.toFixed(1)} | ${(s / w).toFixed(2)} | ${failed} of ${total} |`;
    }),
  ].join('\n');
  process.stdout.write(`${table}\n`);
  for (const r of rows) process.stdout.write(`  ${r.name}: ${r.outcome}\n`);

  const date = new Date().toISOString().slice(0, 10);
  const engine = docker('version', '--format', '{{.Server.Version}}');
  const section = `## deploy

${date} — 2 cores, 24 GiB, Node ${process.versions.node}, Docker ${engine} (Swarm mode on the same engine); median of ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}
(Slipway and Swarm alternating which goes first); load average ${load0.toFixed(1)} before, ${load1.toFixed(1)} after.
Same images (examples/hello-web v1 → v2; a variant exiting 3 at start; one whose /healthz answers 503), 3 replicas,
one at a time (Slipway maxSurge 1 / maxUnavailable 0, Swarm parallelism 1 start-first), GET /healthz every 1 s with a
2 s timeout, healthy after 1 pass, unhealthy after 3 failures; Swarm with \`--update-failure-action rollback\`.
Times run from the command to the rollout (or rollback) being complete: old replicas drained and stopped
(Slipway) or UpdateStatus \`completed\` / \`rollback_completed\` (Swarm).
Failed requests are Slipway's only, under a constant 200 req/s through its proxy: Swarm's ingress routing mesh
does not work on this machine (its published ports refuse connections), so Swarm's are not measured.

${table}

End states: ${rows.map((r) => `${r.name}: ${r.outcome}`).join('; ')}. (Swarm's \`rollback_paused\` means it
stopped its rollback on a failure it saw during it; the time is until it gave up.)
The machine was shared with other work during the run (see the load averages): compare the rows, not
the absolute times.

Run it: \`npm run bench:deploy\` (BENCH_ROUNDS=N for more rounds; leaves swarm mode as it found it).
`;
  const results = path.join(repoRoot, 'bench', 'RESULTS.md');
  const text = readFileSync(results, 'utf8');
  const start = text.indexOf('## deploy\n');
  if (start === -1) appendFileSync(results, `${text.endsWith('\n\n') ? '' : '\n'}${section}`);
  else {
    const next = text.indexOf('\n## ', start + 1);
    writeFileSync(results, `${text.slice(0, start)}${section}${next === -1 ? '' : text.slice(next)}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/deploy: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
