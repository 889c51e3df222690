// A seeded fuzz of the pipeline front end. Thousands of mutated pipeline files (mutate.ts) go
// through parsePipeline, as the server reads a pushed file: it never throws, every diagnostic has
// a place and a message without a stack trace, and no file takes long. Then the real CLI checks a
// sample, the probe's crashers among them: exit 0 or 2, never a stack trace.
// SLIPWAY_FUZZ_SEED replays a failure; SLIPWAY_FUZZ_FILES changes how many files are made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { repoRoot, slipwayBin } from '../support/paths.js';
import { knownCrashers, mutatedFile, prng, seedFiles } from './mutate.js';
import type { FuzzJob, FuzzMessage } from './worker.js';

const SEED = Number(process.env.SLIPWAY_FUZZ_SEED ?? 0x5eed);
const FILES = Number(process.env.SLIPWAY_FUZZ_FILES ?? 2000);
/** A file slower than this is a failure: real files take a few milliseconds, the worst ~1 s. */
const SLOW_MS = 5000;
/** A file that has not finished after this is a hang: the worker is stopped. */
const HANG_MS = 20_000;
const REPLAY = `replay: SLIPWAY_FUZZ_SEED=${SEED} node scripts/test.mjs spec-fuzz`;

/** The file the fuzz made at `index`, made again from the seed (for a hang, which sent no text). */
function fileAt(index: number): string {
  const random = prng(SEED);
  const pool = seedFiles(repoRoot);
  let text = '';
  for (let i = 0; i <= index; i++) text = mutatedFile(random, pool);
  return text;
}

/** Keeps a failing file where the failure message says, to open or to replay with `slipway validate`. */
function keep(index: number, text: string): string {
  const file = path.join(tmpdir(), `slipway-fuzz-${SEED}-${index}.yaml`);
  writeFileSync(file, text);
  return file;
}

function runWorker(job: FuzzJob): Promise<{ problems: string[]; done?: Extract<FuzzMessage, { type: 'done' }> }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: job });
    const problems: string[] = [];
    let current = -1;
    let watchdog: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        problems.push(`file ${current} did not finish in ${HANG_MS} ms (a hang); kept at ${keep(current, fileAt(current))}`);
        void worker.terminate();
      }, HANG_MS);
    };
    arm();
    worker.on('message', (message: FuzzMessage) => {
      if (message.type === 'start') {
        current = message.index;
        arm();
      } else if (message.type === 'problem') {
        problems.push(`file ${message.index}: ${message.problem.slice(0, 2000)}; kept at ${keep(message.index, message.text)}`);
      } else {
        clearTimeout(watchdog);
        resolve({ problems, done: message });
      }
    });
    worker.on('error', (err) => {
      clearTimeout(watchdog);
      reject(err);
    });
    worker.on('exit', () => {
      clearTimeout(watchdog);
      resolve({ problems });
    });
  });
}

test(`${FILES} mutated pipeline files: parsePipeline never throws, every problem is positioned, none hangs (seed ${SEED})`, async () => {
  const { problems, done } = await runWorker({ seed: SEED, count: FILES, repoRoot, slowMs: SLOW_MS });
  assert.deepEqual(problems.slice(0, 5), [], `${problems.length} of ${FILES} files failed; ${REPLAY}`);
  assert.ok(done, `the worker stopped early; ${REPLAY}`);
  assert.equal(done.files, FILES);
  // A fuzz that only makes broken files would not reach the compiler and the evaluator.
  assert.ok(done.valid > FILES / 40, `only ${done.valid} of ${FILES} files were valid`);
});

interface CliRun {
  name: string;
  status: number | null;
  signal: string | null;
  stderr: string;
}

function validate(file: string): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [slipwayBin, 'validate', file], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, _stdout, stderr) => {
      const failure = err as (Error & { code?: number | string; signal?: string }) | null;
      resolve({ name: path.basename(file), status: failure ? (typeof failure.code === 'number' ? failure.code : null) : 0, signal: failure?.signal ?? null, stderr });
    });
  });
}

/** Runs `slipway validate` on each file, a few at a time. */
async function validateAll(files: string[], concurrency = 3): Promise<CliRun[]> {
  const runs: CliRun[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < files.length) runs.push(await validate(files[next++]!));
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return runs;
}

test(`slipway validate on 30 hostile files exits 0 or 2 and never prints a stack trace (seed ${SEED})`, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'slipway-fuzz-cli-'));
  try {
    const files: string[] = [];
    const write = (name: string, content: string | Buffer): void => {
      writeFileSync(path.join(dir, name), content);
      files.push(path.join(dir, name));
    };
    for (const [name, text] of Object.entries(knownCrashers())) write(name, text);
    write('not-utf8.yaml', Buffer.from([0x76, 0x65, 0x72, 0x3a, 0x20, 0xff, 0xfe, 0x0a, 0xc3, 0x28, 0x00, 0x0a]));
    write('random-bytes.yaml', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)));
    write('over-the-limit.yaml', `version: 1\nname: app\n# ${'x'.repeat(1024 * 1024)}\n`);
    write('empty.yaml', '');
    mkdirSync(path.join(dir, 'a-folder.yaml'));
    files.push(path.join(dir, 'a-folder.yaml'));
    const random = prng(SEED ^ 0x0c11);
    const pool = seedFiles(repoRoot);
    for (let i = 0; files.length < 30; i++) write(`mutated-${i}.yaml`, mutatedFile(random, pool));

    const runs = await validateAll(files);
    for (const run of runs) {
      assert.ok(run.status === 0 || run.status === 2, `${run.name}: exit ${run.status} (signal ${run.signal}): ${run.stderr.slice(0, 2000)}`);
      assert.doesNotMatch(run.stderr, /^ {4}at /m, `${run.name} printed a stack trace`);
    }
    const byName = new Map(runs.map((r) => [r.name, r]));
    assert.match(byName.get('over-the-limit.yaml')?.stderr ?? '', /at most 1 MiB \(1048576 bytes\)/);
    assert.match(byName.get('a-folder.yaml')?.stderr ?? '', /is a folder/);
    for (const name of Object.keys(knownCrashers())) assert.equal(byName.get(name)?.status, 2, name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
