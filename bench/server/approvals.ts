// bench/server/approvals: how fast an approved job starts. A run that waits for approval is parked
// in the store (no worker holds it); an approval queues it again and a worker claims and resumes it.
// Its floor is the same server starting a fresh manual run (POST /api/projects/P/runs): the same
// claim, checkout and container, without the wait. Alternating which goes first, BENCH_ROUNDS rounds
// (default 7), medians; the ratio is approval / fresh run.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { spawnServer } from '../../test/support/server-process.js';
import { tempRepo } from '../../test/support/repo.js';

const exec = promisify(execFile);
const TOKEN = 'bench-admin-token-0123456789abcdef';
const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };

interface RunDetail {
  id: string;
  number: number;
  status: string;
  jobs: Array<{ name: string; steps: Array<{ startedAtMs?: number }> }>;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function json<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, { ...init, headers });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** When the first step of `job` in run `id` started, once it has; the run ended before that is an error. */
async function stepStarted(base: string, id: string, job: string): Promise<number> {
  for (;;) {
    const run = await json<RunDetail>(`${base}/api/runs/${id}`);
    const started = run.jobs.find((j) => j.name === job)?.steps[0]?.startedAtMs;
    if (started) return started;
    if (['success', 'failure', 'cancelled', 'interrupted'].includes(run.status)) throw new Error(`run ${id} ended ${run.status} before ${job} started`);
    await pause(5);
  }
}

async function settled(base: string, id: string, until: (status: string) => boolean): Promise<void> {
  while (!until((await json<RunDetail>(`${base}/api/runs/${id}`)).status)) await pause(20);
}

async function main(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
  const data = mkdtempSync(path.join(os.tmpdir(), 'slipway-bench-approvals-'));
  const server = spawnServer(data, { concurrency: 2, adminToken: TOKEN });
  const base = await server.url;
  const gated = tempRepo({ 'slipway.yaml': 'version: 1\nname: gated\njobs:\n  ship:\n    when: manual\n    image: busybox:latest\n    steps:\n      - run: echo shipped\n' });
  const fresh = tempRepo({ 'slipway.yaml': 'version: 1\nname: fresh\non: {}\njobs:\n  ship:\n    image: busybox:latest\n    steps:\n      - run: echo shipped\n' });
  const remote = (project: string): string => `${base.replace('http://', `http://b:${TOKEN}@`)}/git/${project}.git`;
  const approvals: number[] = [];
  const freshRuns: number[] = [];
  try {
    await exec('git', ['push', '-q', remote('fresh'), 'main'], { cwd: fresh.dir });
    const approve = async (): Promise<number> => {
      gated.write('n.txt', String(Date.now()));
      gated.commit('again');
      await exec('git', ['push', '-q', remote('gated'), 'main'], { cwd: gated.dir });
      let run: RunDetail | undefined;
      while (!run || run.status !== 'waiting') {
        run = (await json<{ runs: RunDetail[] }>(`${base}/api/runs?project=gated&limit=1`)).runs[0];
        await pause(20);
      }
      const asked = Date.now();
      await json(`${base}/api/runs/${run.id}/jobs/ship/approve`, { method: 'POST' });
      const started = await stepStarted(base, run.id, 'ship');
      await settled(base, run.id, (s) => s === 'success');
      return started - asked;
    };
    const startFresh = async (): Promise<number> => {
      const asked = Date.now();
      const run = await json<RunDetail>(`${base}/api/projects/fresh/runs`, { method: 'POST', body: '{}' });
      const started = await stepStarted(base, run.id, 'ship');
      await settled(base, run.id, (s) => s === 'success');
      return started - asked;
    };
    // one of each first, not counted: the images' warm containers and the server's caches
    await approve();
    await startFresh();
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        approvals.push(await approve());
        freshRuns.push(await startFresh());
      } else {
        freshRuns.push(await startFresh());
        approvals.push(await approve());
      }
    }
  } finally {
    await server.stop();
    gated.remove();
    fresh.remove();
    rmSync(data, { recursive: true, force: true });
  }
  const [a, f] = [median(approvals), median(freshRuns)];
  console.log(`bench/server/approvals — ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, SQLite store, ${rounds} rounds alternating, medians; load average ${os.loadavg()[0]!.toFixed(1)}`);
  console.log('| what | median | all (ms) | floor: a fresh manual run | approval / floor |\n|---|---|---|---|---|');
  console.log(`| approve (API answered) → the approved job's first step started, parked run | ${Math.round(a)} ms | ${approvals.map(Math.round).join(', ')} | ${Math.round(f)} ms (${freshRuns.map(Math.round).join(', ')}) | ${(a / f).toFixed(2)}× |`);
}

await main();
