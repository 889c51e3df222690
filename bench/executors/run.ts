// bench/executors: the engine running one pipeline on the kubernetes executor beside the docker
// executor, in one process, alternating (docker, kubernetes, docker, …) for ROUNDS rounds each after
// one unmeasured run of each; medians.
//   pipeline      3 jobs × 5 steps of small real work, a DAG (b and c need a), busybox:1.36,
//                 concurrency 2; the same pipeline text for both executors
//   docker        DockerExecutor, warmContainers 0: every job starts its own container (cold)
//   kubernetes    KubernetesExecutor in a namespace of its own (deleted at the end): every job its
//                 own Pod (cold), steps exec'd through the API server
// Figures: wall time of executeRun; executeRun → the first step started; a job's start (running →
// its first step started); one step (step.finished durations, every step of every round); a job's
// end (its last step finished → the job's success: the sandbox removed).
// Needs KUBECONFIG (a real cluster that has busybox:1.36) and the local Docker engine.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import type Docker from 'dockerode';
import { executeRun, RunStorage, snapshotWorkspace, type RunEvent, type SourceSnapshot } from '../../src/engine/index.js';
import { connectDocker, DockerExecutor, type Executor } from '../../src/executors/index.js';
import { KubernetesExecutor } from '../../src/executors/kubernetes/index.js';
import { loadPipeline, type Pipeline } from '../../src/spec/index.js';
import { tempRepo, type TempRepo } from '../../test/support/repo.js';

const ROUNDS = Number(process.env.SLIPWAY_BENCH_ROUNDS ?? 5);
const IMAGE = 'busybox:1.36';
const CONCURRENCY = 2;

function job(name: string, needs?: string): string {
  return [
    `  ${name}:`,
    ...(needs ? [`    needs: [${needs}]`] : []),
    `    image: ${IMAGE}`,
    '    steps:',
    `      - run: echo "job ${name} on $(hostname)"`,
    `      - run: echo "written by ${name}" > note-${name}.txt`,
    `      - run: cat note-${name}.txt`,
    '      - run: ls',
    '      - run: "true"',
  ].join('\n');
}

const PIPELINE = `version: 1\nname: bench-executors\njobs:\n${[job('a'), job('b', 'a'), job('c', 'a')].join('\n')}\n`;

interface Sample {
  wallMs: number;
  firstStepMs: number;
  /** per job: running → its first step started */
  jobStartMs: number[];
  /** every step's duration */
  stepMs: number[];
  /** per job: its last step finished → the job's success (the sandbox removed) */
  teardownMs: number[];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const load = (): string => os.loadavg()[0]!.toFixed(1);

async function runOnce(executor: Executor, pipeline: Pipeline, repo: TempRepo, signal: AbortSignal): Promise<Sample> {
  const runId = `bench-${executor.name}-${randomBytes(4).toString('hex')}`;
  const storage = new RunStorage(repo.home, runId);
  await storage.prepare();
  const source: SourceSnapshot = await snapshotWorkspace(repo.dir, storage.sourceTarPath);
  const lines: string[] = [];
  const running = new Map<string, number>();
  const firstStep = new Map<string, number>();
  const stepMs: number[] = [];
  const lastStep = new Map<string, number>();
  const teardownMs: number[] = [];
  const onEvent = (e: RunEvent): void => {
    if (e.type === 'job.status' && e.status === 'running' && !running.has(e.job)) running.set(e.job, e.at);
    else if (e.type === 'job.status' && e.status === 'success') teardownMs.push(e.at - (lastStep.get(e.job) ?? NaN));
    else if (e.type === 'step.started' && !firstStep.has(e.job)) firstStep.set(e.job, e.at);
    else if (e.type === 'step.finished') {
      stepMs.push(e.durationMs);
      lastStep.set(e.job, e.at);
    } else if (e.type === 'log') lines.push(`[${e.job}] ${e.line}`);
  };
  const startedAt = Date.now();
  const t0 = performance.now();
  const result = await executeRun({
    runId,
    pipeline,
    trigger: { event: 'local', branch: source.branch, commit: source.commit },
    source,
    executor,
    storage,
    secrets: {},
    envOverrides: {},
    concurrency: CONCURRENCY,
    signal,
    onEvent,
  });
  const wallMs = performance.now() - t0;
  signal.throwIfAborted();
  if (result.status !== 'success') throw new Error(`${executor.name}: the run ended ${result.status}\n${lines.join('\n')}`);
  if (stepMs.length !== 15 || firstStep.size !== 3) throw new Error(`${executor.name}: ${stepMs.length} steps finished, ${firstStep.size} jobs started`);
  const jobStartMs = [...firstStep].map(([name, at]) => at - (running.get(name) ?? NaN));
  return { wallMs, firstStepMs: Math.min(...firstStep.values()) - startedAt, jobStartMs, stepMs, teardownMs };
}

/** The cluster's busybox:1.36 is this engine's busybox:latest (shared/k8s imports it with `docker save`). */
async function ensureDockerImage(docker: Docker): Promise<boolean> {
  try {
    await docker.getImage(IMAGE).inspect();
    return false;
  } catch {
    const [repo, tag] = IMAGE.split(':') as [string, string];
    await docker.getImage(`${repo}:latest`).tag({ repo, tag });
    console.error(`(${IMAGE} was not in the Docker engine: tagged ${repo}:latest as ${IMAGE} for the bench; the tag is removed at the end)`);
    return true;
  }
}

async function main(): Promise<void> {
  const kubeconfigPath = process.env.KUBECONFIG;
  if (!kubeconfigPath || !existsSync(kubeconfigPath)) {
    console.error(`bench/executors needs a Kubernetes cluster: set KUBECONFIG to its kubeconfig file${kubeconfigPath ? ` (${kubeconfigPath} does not exist)` : ''}, e.g. KUBECONFIG=/tmp/slipway-k8s-dev/kubeconfig (see shared/k8s/README.md)`);
    process.exit(2);
  }
  if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`SLIPWAY_BENCH_ROUNDS must be a positive integer, not ${process.env.SLIPWAY_BENCH_ROUNDS}`);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const k8sVersion = (await kubeConfig.makeApiClient(VersionApi).getCode()).gitVersion;
  const dockerClient = await connectDocker();
  const dockerVersion = (await dockerClient.version()).Version;
  const loadBefore = load();

  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted')));
  const namespace = `slipway-bench-exec-${randomBytes(3).toString('hex')}`;
  const repo = tempRepo({ 'slipway.yaml': PIPELINE });
  const docker = new DockerExecutor(dockerClient, { warmContainers: 0 });
  const kubernetes = new KubernetesExecutor({ kubeConfig, namespace });
  let tagged = false;
  const samples: Record<'docker' | 'kubernetes', Sample[]> = { docker: [], kubernetes: [] };
  try {
    tagged = await ensureDockerImage(dockerClient);
    const loaded = await loadPipeline(path.join(repo.dir, 'slipway.yaml'));
    if (!loaded.pipeline) throw new Error(`the bench pipeline does not load: ${JSON.stringify(loaded.diagnostics)}`);
    const pipeline = loaded.pipeline;
    const executors = [docker, kubernetes] as const;
    for (const executor of executors) await runOnce(executor, pipeline, repo, controller.signal); // warm-up, not measured
    for (let round = 0; round < ROUNDS; round++) {
      for (const executor of executors) {
        const sample = await runOnce(executor, pipeline, repo, controller.signal);
        samples[executor.name === 'docker' ? 'docker' : 'kubernetes'].push(sample);
        process.stderr.write(`round ${round + 1}/${ROUNDS} ${executor.name}: ${Math.round(sample.wallMs)} ms\n`);
      }
    }
  } finally {
    await docker.close().catch((err: unknown) => console.error(`closing the docker executor: ${(err as Error).message}`));
    await kubeConfig
      .makeApiClient(CoreV1Api)
      .deleteNamespace({ name: namespace })
      .catch((err: unknown) => console.error(`deleting namespace ${namespace}: ${(err as Error).message}`));
    if (tagged) await dockerClient.getImage(IMAGE).remove({ noprune: true }).catch((err: unknown) => console.error(`untagging ${IMAGE}: ${(err as Error).message}`));
    repo.remove();
  }

  const ms = (v: number): string => `${Math.round(v)} ms`;
  const all = (s: Sample[], pick: (x: Sample) => number): string => s.map((x) => Math.round(pick(x))).join(', ');
  type Row = [what: string, docker: number, kubernetes: number, detail: (s: Sample[]) => string];
  const d = samples.docker;
  const k = samples.kubernetes;
  const rows: Row[] = [
    ['whole run (executeRun), wall', median(d.map((s) => s.wallMs)), median(k.map((s) => s.wallMs)), (s) => `(${all(s, (x) => x.wallMs)})`],
    ['executeRun → first step started', median(d.map((s) => s.firstStepMs)), median(k.map((s) => s.firstStepMs)), (s) => `(${all(s, (x) => x.firstStepMs)})`],
    ["a job's start: running → its first step started (3 jobs a run)", median(d.flatMap((s) => s.jobStartMs)), median(k.flatMap((s) => s.jobStartMs)), (s) => `(${s.flatMap((x) => x.jobStartMs).length} samples)`],
    ['one trivial step (echo, write, read, ls, true), exec to exit', median(d.flatMap((s) => s.stepMs)), median(k.flatMap((s) => s.stepMs)), (s) => `(${s.flatMap((x) => x.stepMs).length} samples)`],
    ["a job's end: last step finished → job success (sandbox removed)", median(d.flatMap((s) => s.teardownMs)), median(k.flatMap((s) => s.teardownMs)), (s) => `(${s.flatMap((x) => x.teardownMs).length} samples)`],
  ];
  console.log(
    `bench/executors — ${ROUNDS} rounds each, alternating docker, kubernetes (one unmeasured run of each first), medians; ` +
      `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, Docker ${dockerVersion}, Kubernetes ${k8sVersion}; ` +
      `load average ${loadBefore} before, ${load()} after`,
  );
  console.log('| median | docker | kubernetes | kubernetes / docker |\n|---|---:|---:|---:|');
  for (const [what, dm, km, detail] of rows) console.log(`| ${what} | ${ms(dm)} ${detail(d)} | ${ms(km)} ${detail(k)} | ${(km / dm).toFixed(2)} |`);
}

await main();
