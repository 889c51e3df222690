// bench/server: the server's own figures, in one run, against the issue's targets.
//   webhooks     signed GitHub push deliveries accepted per second (verified, de-duplicated,
//                persisted, run queued) from 32 concurrent senders; p50/p99 latency
//   push→step    from `git push` returning to the first step of its run starting
//   runs list    GET /api/runs p99 with 10,000 runs stored
//   SSE          server peak RSS while 100 MB of step output streams to 10 SSE clients
// Targets (issue 6): ≥ 1,500 deliveries/s on SQLite, push→step < 500 ms, list p99 < 50 ms, RSS < 300 MB.
// BENCH_BASELINE=DIR (a built checkout of another version): the webhook and runs-list rows are
// measured for both, alternating which goes first, BENCH_ROUNDS times (default 3), medians side by
// side — how a change to the server's HTTP layer is judged.
import { execFile, type ChildProcess } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { spawnServer } from '../../test/support/server-process.js';
import { openStore } from '../../src/store/index.js';
import { tempRepo } from '../../test/support/repo.js';

const exec = promisify(execFile);
const TOKEN = 'bench-admin-token-0123456789abcdef';
const SECRET = 'bench-webhook-secret';

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** A build of Slipway: its `slipway` and its store module (a store is made by its own version). */
interface Build {
  label: string;
  bin: string;
  openStore: typeof openStore;
}

const current: Build = { label: 'this', bin: path.resolve('bin/slipway.js'), openStore };

async function startServer(data: string, concurrency: number, build: Build = current): Promise<{ child: ChildProcess; url: string }> {
  const server = spawnServer(data, { concurrency, adminToken: TOKEN, bin: build.bin });
  return { child: server.child, url: await server.url };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const closed = new Promise((resolve) => child.once('close', resolve));
  child.kill('SIGTERM');
  await closed;
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function post(url: string, body: Buffer, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** CPU time (user + system) a process has used, in ms: what it costs, whatever else the machine does. */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function benchWebhooks(build: Build = current): Promise<{ perSecond: number; p50: number; p99: number; accepted: number; duplicates: number; cpuMsPerDelivery: number }> {
  const data = mkdtempSync(path.join(os.tmpdir(), 'slipway-bench-server-'));
  // concurrency 0: this replica accepts and queues; nothing runs the 10k queued runs
  const server = await startServer(data, 0, build);
  try {
    const auth = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
    await fetch(`${server.url}/api/projects`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'bench' }) });
    await fetch(`${server.url}/api/projects/bench/webhook-secret`, { method: 'PUT', headers: auth, body: JSON.stringify({ secret: SECRET }) });
    // every delivery is its own push (a body is accepted once, whatever its delivery id)
    const delivery = (i: number): { payload: Buffer; signature: string } => {
      const payload = Buffer.from(
        JSON.stringify({
          ref: 'refs/heads/main', before: '0'.repeat(40), after: i.toString(16).padStart(40, 'a'), deleted: false,
          repository: { name: 'bench', full_name: 'team/bench', clone_url: 'https://github.com/team/bench.git' },
          head_commit: { message: `bench ${i}`, timestamp: new Date().toISOString() }, sender: { login: 'bench' },
        }),
      );
      return { payload, signature: `sha256=${createHmac('sha256', SECRET).update(payload).digest('hex')}` };
    };
    const total = 8000;
    const deliveries = Array.from({ length: total }, (_, i) => delivery(i));
    const latencies: number[] = [];
    let accepted = 0;
    let duplicates = 0;
    let next = 0;
    const cpuBefore = cpuMsOf(server.child.pid!);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < total) {
          const i = next++;
          // every 10th delivery is a redelivery of the one before: de-duplication under load
          const original = i % 10 === 9 ? i - 1 : i;
          const { payload, signature } = deliveries[original]!;
          const t = performance.now();
          // ?project= names the project in every version's webhook URL
          const status = await post(`${server.url}/hooks/github?project=bench`, payload, { 'X-GitHub-Event': 'push', 'X-GitHub-Delivery': `d-${original}`, 'X-Hub-Signature-256': signature });
          latencies.push(performance.now() - t);
          if (status === 202) accepted++;
          else if (status === 200) duplicates++;
          else throw new Error(`delivery ${i} answered ${status}`);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpuMs = cpuMsOf(server.child.pid!) - cpuBefore;
    return { perSecond: total / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), accepted, duplicates, cpuMsPerDelivery: cpuMs / total };
  } finally {
    await stop(server.child);
    rmSync(data, { recursive: true, force: true });
  }
}

async function benchPushToStep(): Promise<number[]> {
  const data = mkdtempSync(path.join(os.tmpdir(), 'slipway-bench-server-'));
  const server = await startServer(data, 2);
  const repo = tempRepo({ 'slipway.yaml': 'version: 1\nname: quick\njobs:\n  a:\n    image: busybox:latest\n    steps:\n      - run: echo hi\n' });
  const headers = { Authorization: `Bearer ${TOKEN}` };
  const figures: number[] = [];
  try {
    for (let i = 1; i <= 5; i++) {
      repo.write('n.txt', String(i));
      repo.commit(`change ${i}`);
      await exec('git', ['push', '-q', `${server.url.replace('http://', `http://b:${TOKEN}@`)}/git/quick.git`, 'main'], { cwd: repo.dir });
      const pushed = Date.now();
      for (;;) {
        const { runs } = (await (await fetch(`${server.url}/api/runs?project=quick&limit=1`, { headers })).json()) as { runs: Array<{ id: string; number: number; status: string }> };
        const run = runs[0];
        if (run && run.number === i && run.status !== 'queued') {
          const detail = (await (await fetch(`${server.url}/api/runs/${run.id}`, { headers })).json()) as { jobs: Array<{ steps: Array<{ startedAtMs?: number }> }> };
          const startedAt = detail.jobs[0]?.steps[0]?.startedAtMs;
          if (startedAt) {
            figures.push(startedAt - pushed);
            break;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // let the run end before the next push
      for (;;) {
        const { runs } = (await (await fetch(`${server.url}/api/runs?project=quick&limit=1`, { headers })).json()) as { runs: Array<{ status: string }> };
        if (runs[0] && runs[0].status !== 'running' && runs[0].status !== 'queued') break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    return figures;
  } finally {
    await stop(server.child);
    repo.remove();
    rmSync(data, { recursive: true, force: true });
  }
}

async function benchRunsList(build: Build = current): Promise<{ p50: number; p99: number }> {
  const data = mkdtempSync(path.join(os.tmpdir(), 'slipway-bench-server-'));
  const store = await build.openStore(undefined, data, { env: process.env });
  const project = await store.createProject({ name: 'many' });
  await store.transaction(async (tx) => {
    for (let i = 0; i < 10_000; i++) {
      await tx.enqueueRun({ projectId: project.id, pipeline: { file: 'slipway.yaml', text: '' }, trigger: { event: 'push', branch: i % 3 ? 'main' : 'dev', commit: 'b'.repeat(40), sender: 'bench' } });
    }
  });
  await store.close();
  const server = await startServer(data, 0, build);
  try {
    // a server runs for weeks: its first requests (code still being compiled) are not its p99
    for (let i = 0; i < 100; i++) await (await fetch(`${server.url}/api/runs?project=many&limit=50`, { headers: { Authorization: `Bearer ${TOKEN}` } })).arrayBuffer();
    const latencies: number[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 500; i++) {
      const query = i % 5 === 4 && cursor ? `&cursor=${encodeURIComponent(cursor)}` : i % 5 === 3 ? '&branch=dev' : '';
      const t = performance.now();
      const res = await fetch(`${server.url}/api/runs?project=many&limit=50${query}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      const page = (await res.json()) as { runs: unknown[]; nextCursor?: string };
      latencies.push(performance.now() - t);
      cursor = page.nextCursor ?? cursor;
      if (page.runs.length !== 50) throw new Error('a page had fewer than 50 runs');
    }
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  } finally {
    await stop(server.child);
    rmSync(data, { recursive: true, force: true });
  }
}

async function benchSse(): Promise<{ peakRssMb: number; clientBytes: number[]; seconds: number }> {
  const data = mkdtempSync(path.join(os.tmpdir(), 'slipway-bench-server-'));
  const server = await startServer(data, 1);
  const repo = tempRepo({
    'slipway.yaml': `version: 1\nname: loud\njobs:\n  flood:\n    image: busybox:latest\n    steps:\n      - run: yes "$(printf '%0199d' 0)" | head -c 104857600\n`,
  });
  const headers = { Authorization: `Bearer ${TOKEN}` };
  try {
    await exec('git', ['push', '-q', `${server.url.replace('http://', `http://b:${TOKEN}@`)}/git/loud.git`, 'main'], { cwd: repo.dir });
    let runId = '';
    while (!runId) {
      const { runs } = (await (await fetch(`${server.url}/api/runs?project=loud`, { headers })).json()) as { runs: Array<{ id: string }> };
      runId = runs[0]?.id ?? '';
      if (!runId) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const started = performance.now();
    const clientBytes = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const res = await fetch(`${server.url}/api/runs/${runId}/logs`, { headers: { ...headers, Accept: 'text/event-stream' } });
        let bytes = 0;
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
        return bytes;
      }),
    );
    return { peakRssMb: peakRssMb(server.child.pid!), clientBytes, seconds: (performance.now() - started) / 1000 };
  } finally {
    await stop(server.child);
    repo.remove();
    rmSync(data, { recursive: true, force: true });
  }
}

if (process.env.BENCH_BASELINE) await compareWithBaseline(process.env.BENCH_BASELINE);
else await benchAll();
agent.destroy();

async function benchAll(): Promise<void> {
  const webhooks = await benchWebhooks();
  const pushToStep = await benchPushToStep();
  const list = await benchRunsList();
  const sse = await benchSse();
  const median = percentile(pushToStep, 50);
  console.log(`bench/server — ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, SQLite store, load average ${os.loadavg()[0]!.toFixed(1)}`);
  console.log('| what | figure | target | ratio to target |\n|---|---|---|---|');
  console.log(`| webhook deliveries accepted, 32 senders (8,000, 10% redeliveries) | ${Math.round(webhooks.perSecond)}/s, p50 ${webhooks.p50.toFixed(1)} ms, p99 ${webhooks.p99.toFixed(1)} ms (${webhooks.accepted} queued, ${webhooks.duplicates} duplicates) | ≥ 1,500/s | ${(webhooks.perSecond / 1500).toFixed(2)}× |`);
  console.log(`| git push returned → first step started (median of ${pushToStep.length}) | ${Math.round(median)} ms (all: ${pushToStep.map((v) => Math.round(v)).join(', ')}) | < 500 ms | ${(median / 500).toFixed(2)}× |`);
  console.log(`| GET /api/runs, 10,000 runs stored (500 requests) | p50 ${list.p50.toFixed(1)} ms, p99 ${list.p99.toFixed(1)} ms | p99 < 50 ms | ${(list.p99 / 50).toFixed(2)}× |`);
  console.log(`| 100 MB of step output to 10 SSE clients | server peak RSS ${Math.round(sse.peakRssMb)} MB; each client got ${Math.round(Math.min(...sse.clientBytes) / 1e6)}–${Math.round(Math.max(...sse.clientBytes) / 1e6)} MB in ${sse.seconds.toFixed(1)} s | < 300 MB | ${(sse.peakRssMb / 300).toFixed(2)}× |`);
}

async function compareWithBaseline(dir: string): Promise<void> {
  const baseline: Build = {
    label: 'baseline',
    bin: path.resolve(dir, 'bin/slipway.js'),
    openStore: ((await import(path.resolve(dir, 'dist/src/store/index.js'))) as { openStore: typeof openStore }).openStore,
  };
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const rows = new Map<string, { webhooks: number[]; cpu: number[]; p50: number[]; p99: number[] }>([[current.label, { webhooks: [], cpu: [], p50: [], p99: [] }], [baseline.label, { webhooks: [], cpu: [], p50: [], p99: [] }]]);
  for (let round = 0; round < rounds; round++) {
    for (const build of round % 2 === 0 ? [current, baseline] : [baseline, current]) {
      const row = rows.get(build.label)!;
      const webhooks = await benchWebhooks(build);
      row.webhooks.push(webhooks.perSecond);
      row.cpu.push(webhooks.cpuMsPerDelivery);
      // BENCH_WEBHOOKS_ONLY=1: the webhook row alone (quicker, when only it is in question)
      const list = process.env.BENCH_WEBHOOKS_ONLY ? { p50: Number.NaN, p99: Number.NaN } : await benchRunsList(build);
      row.p50.push(list.p50);
      row.p99.push(list.p99);
    }
  }
  const mid = (values: number[]) => percentile(values, 50);
  const [now, then] = [rows.get(current.label)!, rows.get(baseline.label)!];
  console.log(`bench/server, this build vs ${dir} — ${os.cpus().length} cores, Node ${process.version}, SQLite, ${rounds} rounds alternating, medians; load average ${os.loadavg()[0]!.toFixed(1)}`);
  console.log('| what | this build | baseline | this / baseline |\n|---|---|---|---|');
  console.log(`| webhook deliveries accepted per second (8,000, 32 senders) | ${Math.round(mid(now.webhooks))} (${now.webhooks.map(Math.round).join(', ')}) | ${Math.round(mid(then.webhooks))} (${then.webhooks.map(Math.round).join(', ')}) | ${(mid(now.webhooks) / mid(then.webhooks)).toFixed(2)}× |`);
  console.log(`| server CPU per webhook delivery, ms | ${mid(now.cpu).toFixed(3)} (${now.cpu.map((v) => v.toFixed(3)).join(', ')}) | ${mid(then.cpu).toFixed(3)} (${then.cpu.map((v) => v.toFixed(3)).join(', ')}) | ${(mid(now.cpu) / mid(then.cpu)).toFixed(2)}× |`);
  console.log(`| GET /api/runs p50, 10,000 runs, ms | ${mid(now.p50).toFixed(2)} (${now.p50.map((v) => v.toFixed(2)).join(', ')}) | ${mid(then.p50).toFixed(2)} (${then.p50.map((v) => v.toFixed(2)).join(', ')}) | ${(mid(now.p50) / mid(then.p50)).toFixed(2)}× |`);
  console.log(`| GET /api/runs p99, 10,000 runs, ms | ${mid(now.p99).toFixed(1)} (${now.p99.map((v) => v.toFixed(1)).join(', ')}) | ${mid(then.p99).toFixed(1)} (${then.p99.map((v) => v.toFixed(1)).join(', ')}) | ${(mid(now.p99) / mid(then.p99)).toFixed(2)}× |`);
}
