// bench/deploy/platform: the docker target as a platform, in one run.
//   discovery     app-to-app latency from inside a container of the environment: GET http://api:8080/
//                 (the name: the app's mesh proxy, balancing over healthy replicas) beside GET
//                 http://REPLICA:8080/ (straight to one replica, no proxy: the floor), 500 keep-alive
//                 requests each, alternating, ROUNDS rounds; p50 and p99 of every sample
//   agent SIGKILL requests failed under a constant 200 req/s through the edge while the deploy agent
//                 is SIGKILLed, and the time until its supervisor has a new one answering (Slipway's
//                 only: Swarm's routing mesh does not work on this machine)
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import { buildCaller, buildImages, containersOf, deployRequest, eventually, fixture, IMAGES, Load, proxyPort, testSpec } from '../../test/deploy-docker/support.js';

const run = promisify(execFile);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const CLIENT = `const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const [host, count] = [process.argv[1], Number(process.argv[2])];
const once = () => new Promise((resolve, reject) => {
  const t = process.hrtime.bigint();
  http.get({ host, port: 8080, path: '/', agent }, (res) => { res.resume(); res.on('end', () => resolve(Number(process.hrtime.bigint() - t) / 1e6)); }).on('error', reject);
});
(async () => { const out = []; for (let i = 0; i < 20; i++) await once(); for (let i = 0; i < count; i++) out.push(await once()); console.log(JSON.stringify(out)); })();`;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function median(values: number[]): number {
  return percentile(values, 50);
}

async function main(): Promise<void> {
  const f = await fixture();
  const [, caller] = await Promise.all([buildImages(), buildCaller('api:8080')]);
  try {
    const spec = testSpec({ replicas: 2 });
    for (const [app, image] of [
      ['api', IMAGES.v1],
      ['client', caller],
    ] as const) {
      const outcome = await f.target.deploy(deployRequest(app, image, spec));
      if (outcome.outcome !== 'healthy') throw new Error(`${app}: ${outcome.reason}`);
    }
    const containers = await containersOf(f.dataDir);
    const client = containers.find((c) => c.name.startsWith('slipway-client-'));
    const replica = containers.find((c) => c.name.startsWith('slipway-api-'));
    if (!client || !replica) throw new Error('no client or api replica');
    const viaName: number[] = [];
    const direct: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = round % 2 === 0 ? (['api', replica.name] as const) : ([replica.name, 'api'] as const);
      for (const host of order) {
        const { stdout } = await run('docker', ['exec', client.id, 'node', '-e', CLIENT, host, '500'], { maxBuffer: 16 << 20 });
        (host === 'api' ? viaName : direct).push(...(JSON.parse(stdout) as number[]));
      }
    }
    const p = (values: number[], q: number): string => percentile(values, q).toFixed(2);
    process.stdout.write(`| app-to-app GET, p50 ms | ${p(viaName, 50)} | ${p(direct, 50)} | ${(percentile(viaName, 50) / percentile(direct, 50)).toFixed(2)} |\n`);
    process.stdout.write(`| app-to-app GET, p99 ms | ${p(viaName, 99)} | ${p(direct, 99)} | ${(percentile(viaName, 99) / percentile(direct, 99)).toFixed(2)} |\n`);

    const port = await proxyPort(f.target, 'api');
    const failed: number[] = [];
    const total: number[] = [];
    const backMs: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const before = await f.target.client.ping();
      if (!before) throw new Error('no agent');
      const load = new Load(port, { ratePerSecond: 200 }).start();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const killedAt = performance.now();
      process.kill(before.pid, 'SIGKILL');
      await eventually('a new agent', async () => {
        const now = await f.target.client.ping();
        return now !== undefined && now.pid !== before.pid;
      }, 20_000, 20);
      backMs.push(performance.now() - killedAt);
      await eventually('replicas adopted', async () => (await f.target.dockerStatus('api', 'test'))[0]?.replicas.ready === 2, 20_000);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const result = await load.stop();
      failed.push(result.failed);
      total.push(result.ok + result.failed);
    }
    process.stdout.write(`| agent SIGKILL at 200 req/s: failed requests (every round) | ${failed.join(', ')} of ${total.join(', ')} | — | — |\n`);
    process.stdout.write(`| agent SIGKILL: until a new agent answers, median ms | ${median(backMs).toFixed(0)} (${backMs.map((v) => v.toFixed(0)).join(', ')}) | — | — |\n`);
    process.stdout.write(`machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average ${os.loadavg()[0]?.toFixed(1)}\n`);
  } finally {
    await f.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
