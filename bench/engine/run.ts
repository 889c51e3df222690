// bench/engine: what `slipway run` costs over the Docker engine itself, measured in one run.
//   slipway run      a pipeline of 3 jobs × 5 trivial steps (independent jobs; and chained by needs)
//   naive floor      the same 15 steps as 15 sequential `docker run --rm`
//   real floor       3 container starts + 15 `docker exec` (CLI), and the same through the API
//   validate         `slipway validate` on a 200-job file, wall time with node's start-up
// Targets (issue 3): slipway ≤ 0.6 × naive, ≤ 1.25 × real floor; validate < 400 ms.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { slipwayBin } from '../../test/support/paths.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const IMAGE = 'busybox:latest';
const STEPS = 5;
const JOBS = 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function time(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function timeAsync(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8' });
}

function pipelineFile(chained: boolean): string {
  const jobs = Array.from({ length: JOBS }, (_, j) => {
    const steps = Array.from({ length: STEPS }, (_, s) => `      - run: echo job ${j} step ${s}`).join('\n');
    const needs = chained && j > 0 ? `    needs: [job${j - 1}]\n` : '';
    return `  job${j}:\n${needs}    image: ${IMAGE}\n    steps:\n${steps}`;
  });
  return `version: 1\nname: bench\njobs:\n${jobs.join('\n')}\n`;
}

function gitRepo(content: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-bench-'));
  writeFileSync(path.join(dir, 'slipway.yaml'), content);
  for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['-c', 'user.email=b@b', '-c', 'user.name=b', 'commit', '-qm', 'bench']]) {
    execFileSync('git', args, { cwd: dir });
  }
  return dir;
}

function slipwayRun(dir: string, home: string): void {
  const result = spawnSync(process.execPath, [slipwayBin, 'run', '--plain'], { cwd: dir, env: { ...process.env, SLIPWAY_HOME: home }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`slipway run failed:\n${result.stdout}\n${result.stderr}`);
}

function naiveFloor(): void {
  for (let j = 0; j < JOBS; j++) for (let s = 0; s < STEPS; s++) docker('run', '--rm', IMAGE, 'sh', '-e', '-c', `echo job ${j} step ${s}`);
}

function realFloorCli(): void {
  for (let j = 0; j < JOBS; j++) {
    const id = docker('run', '-d', '--rm', IMAGE, 'sleep', '300').trim();
    for (let s = 0; s < STEPS; s++) docker('exec', id, 'sh', '-e', '-c', `echo job ${j} step ${s}`);
    docker('rm', '-f', id);
  }
}

async function realFloorApi(client: Docker): Promise<void> {
  for (let j = 0; j < JOBS; j++) {
    const container = await client.createContainer({ Image: IMAGE, Cmd: ['sleep', '300'], HostConfig: { AutoRemove: false } });
    await container.start();
    for (let s = 0; s < STEPS; s++) {
      const exec = await container.exec({ Cmd: ['sh', '-e', '-c', `echo job ${j} step ${s}`], AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({ hijack: true, stdin: false });
      await new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.resume();
      });
      await exec.inspect();
    }
    await container.remove({ force: true });
  }
}

function validateFile(dir: string): string {
  const jobs = Array.from({ length: 200 }, (_, j) => {
    const needs = j > 0 ? `    needs: [job${j - 1}${j > 1 ? `, job${Math.floor(j / 2)}` : ''}]\n` : '';
    return `  job${j}:\n${needs}    image: ${IMAGE}\n    env: { N: "${j}" }\n    timeout: 5m\n    steps:\n      - name: build ${j}\n        run: echo building \${{ branch }}\n      - run: echo test ${j}\n`;
  });
  const file = path.join(dir, 'big.yaml');
  writeFileSync(file, `version: 1\nname: big\non: { push: { branches: [main, "release/*"] } }\njobs:\n${jobs.join('')}`);
  return file;
}

async function main(): Promise<void> {
  const client = new Docker();
  const parallelDir = gitRepo(pipelineFile(false));
  const chainedDir = gitRepo(pipelineFile(true));
  const home = mkdtempSync(path.join(os.tmpdir(), 'slipway-bench-home-'));
  const figures: Record<string, number[]> = { parallel: [], chained: [], naive: [], floorCli: [], floorApi: [], validate: [] };
  try {
    // warm up the engine, the page cache and node's compile cache once
    slipwayRun(parallelDir, home);
    naiveFloor();
    for (let round = 0; round < ROUNDS; round++) {
      figures.parallel!.push(time(() => slipwayRun(parallelDir, home)));
      figures.chained!.push(time(() => slipwayRun(chainedDir, home)));
      figures.naive!.push(time(naiveFloor));
      figures.floorCli!.push(time(realFloorCli));
      figures.floorApi!.push(await timeAsync(() => realFloorApi(client)));
    }
    const big = validateFile(parallelDir);
    for (let round = 0; round < Math.max(ROUNDS, 9); round++) {
      figures.validate!.push(
        time(() => {
          const r = spawnSync(process.execPath, [slipwayBin, 'validate', big], { encoding: 'utf8' });
          if (r.status !== 0) throw new Error(`validate failed: ${r.stderr}`);
        }),
      );
    }
  } finally {
    for (const dir of [parallelDir, chainedDir, home]) rmSync(dir, { recursive: true, force: true });
  }
  const m = Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, median(v)])) as Record<string, number>;
  const ratio = (a: number, b: number): string => (a / b).toFixed(2);
  const ms = (v: number): string => `${Math.round(v)} ms`;
  const rows = [
    ['slipway run, 3 independent jobs × 5 steps', ms(m.parallel!), `${ratio(m.parallel!, m.naive!)}× naive, ${ratio(m.parallel!, m.floorCli!)}× real floor (CLI), ${ratio(m.parallel!, m.floorApi!)}× real floor (API)`],
    ['slipway run, 3 chained jobs × 5 steps', ms(m.chained!), `${ratio(m.chained!, m.naive!)}× naive, ${ratio(m.chained!, m.floorCli!)}× real floor (CLI), ${ratio(m.chained!, m.floorApi!)}× real floor (API)`],
    ['naive floor: 15 × `docker run --rm`', ms(m.naive!), ''],
    ['real floor: 3 × `docker run -d` + 15 × `docker exec` (CLI)', ms(m.floorCli!), ''],
    ['real floor: 3 container starts + 15 execs (Engine API, no CLI start-up)', ms(m.floorApi!), ''],
    [`\`slipway validate\` on a 200-job file (wall, node start included, median of ${figures.validate!.length})`, ms(m.validate!), `${ratio(m.validate!, 400)}× the 400 ms budget`],
  ];
  console.log(`bench/engine — median of ${ROUNDS} rounds, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, Docker ${docker('version', '--format', '{{.Server.Version}}').trim()}`);
  console.log('| what | time | ratio |\n|---|---|---|');
  for (const [what, t, r] of rows) console.log(`| ${what} | ${t} | ${r} |`);
  const pass = m.parallel! <= 0.6 * m.naive! && m.parallel! <= 1.25 * m.floorCli! && m.validate! < 400;
  console.log(pass ? '\ntargets met (≤ 0.6× naive, ≤ 1.25× real floor, validate < 400 ms)' : '\nTARGETS MISSED');
}

await main();
