// bench/deploy/autoscale: the time from a load step to the replica the autoscaler adds serving,
// beside its floor — the time `slipway scale` takes to add one replica serving — in the same run,
// alternating which goes first. Two environments of the same image and deploy block (1 replica,
// health GET /healthz every 200 ms, healthy after 2 passes); one has autoscale { min 1, max 2,
// targetInflight 4, cooldown up 1s, down 3s }. The step: 8 concurrent loops of GET /slow?ms=300
// (8 in flight: 2 replicas' worth). "Serving" is the second replica in the proxy's rotation (the
// agent's status: 2 ready). The difference of the two is what the autoscaler adds: its 3 s hold
// and its once-a-second decision. Run: npm run build && node dist/bench/deploy/autoscale.js
import os from 'node:os';
import { buildImages, deployRequest, eventually, fixture, IMAGES, Load, proxyPort, testSpec, type Fixture } from '../../test/deploy-docker/support.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function ready(f: Fixture, app: string): Promise<{ desired: number; ready: number } | undefined> {
  return (await f.target.dockerStatus(app, 'test'))[0]?.replicas;
}

async function main(): Promise<void> {
  const f = await fixture();
  await buildImages();
  try {
    const auto = testSpec({ replicas: 1, autoscale: { min: 1, max: 2, targetInflight: 4, cooldown: { upMs: 1000, downMs: 3000 } } });
    const plain = testSpec({ replicas: 1 });
    for (const [app, spec] of [['autoscaled', auto], ['scaled', plain]] as const) {
      const outcome = await f.target.deploy(deployRequest(app, IMAGES.v1, spec));
      if (outcome.outcome !== 'healthy') throw new Error(`${app}: ${outcome.reason}`);
    }
    const ports = { autoscaled: await proxyPort(f.target, 'autoscaled'), scaled: await proxyPort(f.target, 'scaled') };
    const autoscaleMs: number[] = [];
    const scaleMs: number[] = [];
    let failed = 0;
    let served = 0;
    const load0 = os.loadavg()[0] ?? 0;

    const stepAutoscaled = async (): Promise<void> => {
      const load = new Load(ports.autoscaled, { concurrency: 8, path: '/slow?ms=300' }).start();
      const started = performance.now();
      await eventually('the added replica serving', async () => (await ready(f, 'autoscaled'))?.ready === 2, 60_000, 20);
      autoscaleMs.push(performance.now() - started);
      const result = await load.stop();
      failed += result.failed;
      served += result.ok;
      // back to 1 once the load stayed away for cooldown.down
      await eventually('back to one replica', async () => {
        const r = await ready(f, 'autoscaled');
        return r?.desired === 1 && r.ready === 1;
      }, 60_000, 100);
    };
    const stepScaled = async (): Promise<void> => {
      const load = new Load(ports.scaled, { concurrency: 8, path: '/slow?ms=300' }).start();
      const started = performance.now();
      const outcome = await f.target.scale({ app: 'scaled', environment: 'test', replicas: 2, by: 'bench', signal: new AbortController().signal, onProgress: () => undefined });
      if (outcome.outcome !== 'healthy') throw new Error(`slipway scale: ${outcome.reason}`);
      scaleMs.push(performance.now() - started);
      const result = await load.stop();
      failed += result.failed;
      served += result.ok;
      await f.target.scale({ app: 'scaled', environment: 'test', replicas: 1, by: 'bench', signal: new AbortController().signal, onProgress: () => undefined });
    };

    for (let round = 0; round < ROUNDS; round += 1) {
      // the scale-down's seed leaves the autoscaler's 3 s hold window before the next step
      await new Promise((resolve) => setTimeout(resolve, 3500));
      if (round % 2 === 0) {
        await stepAutoscaled();
        await stepScaled();
      } else {
        await stepScaled();
        await stepAutoscaled();
      }
    }
    const a = median(autoscaleMs);
    const s = median(scaleMs);
    const samples = (values: number[]) => values.map((v) => (v / 1000).toFixed(2)).join(', ');
    process.stdout.write('| what | Slipway s | floor s | Slipway / floor |\n|---|---:|---:|---:|\n');
    process.stdout.write(`| load step → the replica the autoscaler added serving (1 → 2) | ${(a / 1000).toFixed(2)} (${samples(autoscaleMs)}) | ${(s / 1000).toFixed(2)} (${samples(scaleMs)}) | ${(a / s).toFixed(2)} |\n`);
    process.stdout.write(`floor: \`slipway scale\` to 2 under the same load, until it returns (the second replica in rotation). Failed requests in all steps: ${failed} of ${failed + served}.\n`);
    process.stdout.write(`machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average ${load0.toFixed(1)} before, ${(os.loadavg()[0] ?? 0).toFixed(1)} after; ${ROUNDS} rounds\n`);
  } finally {
    await f.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
